"""Errors that FormScout tools raise for bad input.

A tool raises `InputError` when what it was given cannot be used (missing
file, not a video, clip too short...). The message names the bad input and
says what to do next; the CLI prints it as one line and exits with code 2,
with no traceback. Anything else is a bug and keeps its traceback.
"""


class InputError(ValueError):
    """Bad input from the user: the message says what is wrong and what to do."""


class BackendUnavailable(InputError):
    """An optional model or package is missing (the message gives the install hint)."""
