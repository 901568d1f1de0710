"""User-facing errors and the exit codes every command shares: anything a user can cause ends
as one clear paragraph and exit code 2; a run's verdict is 0 (GO), 3 (NO-GO) or 4 (a data
exposure); a `target check` with a failed step is 1; Ctrl-C is 130."""

from __future__ import annotations

EXIT_GO = 0
EXIT_CHECK_FAILED = 1  # `firstbell target check`: a step of a session failed
USAGE_ERROR_EXIT = 2
EXIT_NO_GO = 3
EXIT_EXPOSURE = 4
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """An error the user can fix (bad input, bad option, unusable path); printed without traceback.

    The message names the file, field and value and says how to fix it.
    """

    exit_code = USAGE_ERROR_EXIT
