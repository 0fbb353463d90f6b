"""Errors that mean "the user's input is wrong" (as opposed to a bug).

Every public function that validates input raises :class:`InputError` with a
one-line message that names the problem and, where possible, the fix. The CLI
prints that line and exits with code 2, never a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: a missing file, a corrupt line, a missing column, a wrong label.

    The message is a single line meant for the user. Keep it specific:
    name the file, column, row or label at fault and say what would fix it.
    """

    exit_code = 2

    def __init__(self, message: str):
        # One line only: a multi-line message would read like a traceback.
        super().__init__(" ".join(str(message).split()))


class BackendError(RuntimeError):
    """A remote or model call failed for good (not the user's input): a job failed,
    retries ran out. The message is one line; the CLI prints it and exits with code 1.
    """

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
