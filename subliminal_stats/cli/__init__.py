"""Command-line interface: ``subliminal-stats``.

Bad input (:class:`~subliminal_stats.errors.InputError`) becomes a one-line
message on stderr and exit code 2; usage errors are exit code 2 as well.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

# Register commands: each module adds its commands to `app`. The modules import only typer
# and the standard library at load time (heavy libraries load inside each command), so
# `--help` stays fast.
from subliminal_stats.cli import (  # noqa: F401, E402
    data_cmds,
    diagnose_cmds,
    generation_cmds,
    report_cmds,
    run_cmds,
    stats_cmds,
)
from subliminal_stats.cli._app import app, console, err_console, print_error  # noqa: E402
from subliminal_stats.errors import BackendError, InputError  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (used by the console script and by tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="subliminal-stats", standalone_mode=False)
    except InputError as exc:
        print_error(str(exc))
        return 2
    except BackendError as exc:  # a job failed or retries ran out: not the user's input
        print_error(str(exc))
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        print_error("interrupted; finished items are kept, rerun to resume")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.exceptions.TyperException as exc:  # usage errors (typer's own click)
        # One line, like every other error: the message, then where the help is. Click's
        # own display prints the usage block and a boxed message over several lines.
        message = exc.format_message()
        context = getattr(exc, "ctx", None)
        if context is not None:
            message = f"{message} (see {context.command_path} --help)"
        print_error(message)
        return exc.exit_code
    return result if isinstance(result, int) else 0


#: Commands that only read files, print and write their outputs through closed files: at
#: their end the console script skips the interpreter's teardown (freeing the hundreds of MB
#: of small objects a large table leaves costs 0.3–0.5 s that nobody waits for).
FAST_EXIT_COMMANDS = frozenset({"test"})


def entry_point() -> None:  # pragma: no cover - thin wrapper (tests/cli/test_entry_point.py)
    code = main()
    if sys.argv[1:2] and sys.argv[1] in FAST_EXIT_COMMANDS:
        import os

        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, OSError):
            code = code or 1
        os._exit(code)
    sys.exit(code)


__all__ = ["app", "console", "entry_point", "err_console", "main"]
