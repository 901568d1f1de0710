"""Whether a process firstbell started is still there, as the commands that stop what they
started (`staging down`, `sis rosariosis down`) need to know."""

from __future__ import annotations

import contextlib
import os


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True
