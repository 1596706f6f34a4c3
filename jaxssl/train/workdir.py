"""One run per workdir: a lock file that a second run on the same directory is refused by.

Two runs writing one workdir interleave their metrics, mix their checkpoints
and leave one run's ``config.json``. :class:`WorkdirLock` holds
``WORKDIR/.jaxssl.lock`` (the owner's PID, host and start time, as JSON) for
the whole run; a second run on the directory stops at start-up with the
owner named. A lock left by a killed run (its PID no longer alive on this
host) is stale and is taken over with a warning. Only process 0 takes it:
the processes of one multi-process run share their workdir.

The lock is created with ``O_CREAT | O_EXCL``, so of two runs starting at
the same moment exactly one gets it. Written here because neither Orbax nor
the standard library has an inter-process lock that names its owner and
recovers from a killed one (``fcntl.flock`` does neither over NFS).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time

LOCK_NAME = ".jaxssl.lock"


class WorkdirInUseError(RuntimeError):
    """Another live run holds the workdir."""


def check_writable(workdir: str) -> None:
    """OSError naming ``workdir`` when it cannot be created or written."""
    probe = os.path.join(workdir, f".write_test_{os.getpid()}")
    try:
        os.makedirs(workdir, exist_ok=True)
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise OSError(
            f"workdir {workdir!r} is not a writable directory ({type(e).__name__}: {e}); "
            "choose another --workdir."
        ) from e


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


class WorkdirLock:
    """``with WorkdirLock(workdir):`` holds the workdir for one run (see the module docstring).

    Every process checks that the workdir can be written (``OSError``
    naming it otherwise), whether or not it takes the lock.

    Args:
      workdir: the run directory (created if missing).
      enabled: False on processes other than 0 (they share process 0's lock).
      warn: called with a message when a stale lock is taken over.
    """

    def __init__(self, workdir: str, *, enabled: bool = True, warn=None):
        self.path = os.path.join(workdir, LOCK_NAME)
        self.workdir = workdir
        self.enabled = enabled
        self.created = False  # whether acquire() made the workdir
        self.warn = warn or (lambda message: print(message, file=sys.stderr, flush=True))
        self.mine = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }

    def _owner(self) -> dict | None:
        """The lock's recorded owner; None when the file is gone or unreadable."""
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(self.mine, f)
        return True

    def acquire(self) -> None:
        """Takes the lock, or raises :class:`WorkdirInUseError` naming the owner."""
        self.created = not os.path.isdir(self.workdir)
        check_writable(self.workdir)  # on every process: each one writes to it
        if not self.enabled:
            return
        for _ in range(3):  # a stale lock removed by another starting run: look again
            if self._try_create():
                return
            owner = self._owner()
            if owner is None:  # being written by a run that just won, or half-written
                time.sleep(0.2)
                owner = self._owner()
            pid, host = (owner or {}).get("pid"), (owner or {}).get("host")
            here = host == self.mine["host"]
            if owner is not None and not (here and isinstance(pid, int) and not _alive(pid)):
                where = "this host" if here else f"host {host}"
                raise WorkdirInUseError(
                    f"workdir {self.workdir} is in use by another run (pid {pid} on {where}, "
                    f"started {owner.get('started', '?')}): two runs on one workdir would mix "
                    "their checkpoints and metrics. Wait for it to finish, or use another "
                    f"--workdir. If no such run exists (it ran on a machine now gone), delete "
                    f"{self.path}."
                )
            if owner is not None:
                self.warn(
                    f"warning: taking over the lock of a run that is no longer alive (pid {pid}, "
                    f"started {owner.get('started', '?')}) in {self.workdir}"
                )
            if self._owner() == owner:  # not replaced meanwhile by a run that took it over
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path)
        raise WorkdirInUseError(f"could not take the lock {self.path}; is another run starting?")

    def release(self) -> None:
        """Removes the lock if this run still owns it.

        Also the workdir, when this run made it and wrote nothing else: a run
        refused at start-up leaves nothing behind.
        """
        if self.enabled and self._owner() == self.mine:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            if self.created:
                with contextlib.suppress(OSError):  # not empty: the run wrote its files
                    os.rmdir(self.workdir)

    def __enter__(self) -> WorkdirLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
