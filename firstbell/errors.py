"""User-facing errors: anything a user can cause ends as one clear paragraph and exit code 2."""

from __future__ import annotations

USAGE_ERROR_EXIT = 2


class UserError(Exception):
    """An error the user can fix (bad input, bad option, unusable path); printed without traceback.

    The message names the file, field and value and says how to fix it.
    """

    exit_code = USAGE_ERROR_EXIT
