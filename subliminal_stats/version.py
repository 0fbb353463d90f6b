"""The package version: one place, read by ``--version``, every manifest and every report."""

__version__ = "0.2.0"
