"""The data dir: one sandbox at a time (:class:`DataDirLock`), readable by its owner only (:func:`secure`).

The data dir holds the database (``sandbox.sqlite3`` and its ``-wal``/``-shm``), the lock file, the parts and
the originals. The database keeps two secrets in the clear, because the sandbox must use them, not just
compare them: the client secret (checked on pairing and refresh) and the S3 signing key (which signs and checks
every part URL: whoever reads it can forge URLs the sandbox accepts). Tokens are kept as digests only. What
keeps the secrets, and the uploaded media, out of other users' reach is the file mode: the directories are
0700 and the files 0600, whatever the process's umask, and a data dir left looser by an earlier version (or by
hand) is tightened on every start. That is enough on a machine with other local users; it is not encryption,
and the owner (and root) can read everything.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, one sandbox per data dir is up to you
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "sandbox.lock"
DATABASE = "sandbox.sqlite3"
DIR_MODE, FILE_MODE = 0o700, 0o600


class DataDirInUse(RuntimeError):
    """Another sandbox (this process or another) is using the data dir; the message names its pid and port."""


class DataDirLock:
    """An exclusive ``flock`` on ``<data_dir>/sandbox.lock``, which holds the owner's pid and port."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode(errors="replace").split()
                os.close(fd)
                pid, port = [*holder, "?", "?"][:2]
                raise DataDirInUse(
                    f"data dir {self.path.parent} is in use by the sandbox of process {pid} on port {port}"
                ) from None
        self._fd = fd
        self.record("starting")

    def record(self, port: int | str) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()} {port}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = None


def create(data_dir: Path) -> None:
    """Make the data dir (0700, its parents as the umask says) and give it an empty 0600 database file.

    SQLite creates ``-wal`` and ``-shm`` with the mode of the database file, so the database file is created
    here, 0600, before SQLite opens it.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.close(os.open(data_dir / DATABASE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE))


def secure(data_dir: Path) -> None:
    """Tighten the data dir and everything in it to owner-only: directories 0700, files 0600.

    Symbolic links are left alone (and not followed); so is anything the process does not own.
    """
    _tighten(data_dir, DIR_MODE)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            _tighten(Path(root, name), DIR_MODE)
        for name in files:
            _tighten(Path(root, name), FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError, PermissionError):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
            return
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return
        os.chmod(path, mode)
