"""A manifest on disk: written privately and atomically, read only when it is safely the owner's, one run at a time.

A manifest holds presigned URLs (anyone holding one can PUT that part until it expires), so it is a secret and
it decides where an upload's bytes go. Hence:

- :func:`write_private` replaces it atomically and durably with mode ``0600`` (a temporary file in the same
  directory, created exclusively and never through a symlink, ``fsync``, ``os.replace``, then the directory's
  ``fsync``), so a crash mid-write leaves the previous manifest, never half of one;
- :func:`read_private` reads it only if it is a regular file (not a symlink, FIFO or device: opened with
  ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat``), owned by this user, not writable by anyone else (a
  manifest others can write could point the upload at their URLs and still end in "success"), and at most
  :data:`MAX_MANIFEST_BYTES`; one readable by others is read with a warning;
- :class:`ManifestLock` takes an exclusive ``flock`` on ``PATH.lock`` for a whole run and writes its process id
  into it: a second run with the same manifest fails at once with
  :class:`~c2c_helpers.errors.ManifestInUse`, naming that process. The lock file goes when the run ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import stat
import threading
from pathlib import Path
from types import TracebackType

from c2c_helpers.errors import InvalidFile, ManifestInUse

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock; one run per manifest is then up to you
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_SUFFIX", "MAX_MANIFEST_BYTES", "ManifestLock", "read_private", "write_private"]

logger = logging.getLogger("c2c_helpers")

#: The lock of manifest ``PATH`` is ``PATH`` + this suffix.
LOCK_SUFFIX = ".lock"
#: Largest manifest read: 10,000 parts (S3's most) with their URLs and digests fit in a few MB.
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
_MODE = 0o600
_counter = 0
_counter_lock = threading.Lock()


def read_private(path: Path) -> bytes | None:
    """The manifest's bytes; None when there is none. InvalidFile when it is not safely this user's file."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        why = "it is a symbolic link" if path.is_symlink() else (exc.strerror or type(exc).__name__)
        raise InvalidFile(f"{path}: cannot read the resume manifest ({why}); nothing was sent", path=path) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        refused = (
            "it is not a regular file"
            if not stat.S_ISREG(st.st_mode)
            else "it belongs to another user"
            if hasattr(os, "getuid") and st.st_uid != os.getuid()
            else "others can write to it, so it could send the upload elsewhere"
            if st.st_mode & 0o022
            else f"it is larger than {MAX_MANIFEST_BYTES:,} bytes"
            if st.st_size > MAX_MANIFEST_BYTES
            else None
        )
        if refused:
            raise InvalidFile(
                f"{path}: refused as a resume manifest: {refused}; nothing was sent. Delete it (or make it yours, "
                "mode 0600) to go on",
                path=path,
            )
        if st.st_mode & 0o044:
            logger.warning("%s: the resume manifest is readable by others; it holds presigned URLs", path)
        return f.read(MAX_MANIFEST_BYTES + 1)


class ManifestLock:
    """An exclusive, non-blocking ``flock`` on ``<manifest>.lock`` for one run; the file names its holder.

    Use it as a context manager (or :meth:`acquire` / :meth:`release`). A second lock on the same manifest,
    from this process or another, raises :class:`~c2c_helpers.errors.ManifestInUse` at once. The lock file
    is removed on release (a run that acquires it checks that the file it locked is still the one in place).
    """

    def __init__(self, manifest: str | os.PathLike[str]) -> None:
        self.manifest = Path(manifest)
        self.path = self.manifest.with_name(self.manifest.name + LOCK_SUFFIX)
        self._fd: int | None = None

    def acquire(self) -> ManifestLock:
        while self._fd is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0), _MODE)
            except OSError as exc:
                raise InvalidFile(
                    f"{self.manifest}: cannot create its lock file {self.path} ({exc.strerror or exc}); nothing "
                    "was sent. Pick a writable place for the resume manifest",
                    path=self.manifest,
                ) from None
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.pread(fd, 300, 0).decode(errors="replace").strip()
                    os.close(fd)
                    raise ManifestInUse(self.manifest, self.path, holder) from None
            try:  # the holder before us may have removed the file between our open and our lock: try again
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {started}\n".encode(), 0)
            self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # while still locked: nobody can be holding the file we remove
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ManifestLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically and durably, mode 0600: a temporary file in the same directory
    (created exclusively, never through a symlink), fsync, rename, then fsync the directory where possible."""
    global _counter
    with _counter_lock:
        _counter += 1
        unique = _counter
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{unique}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, _MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the platform allows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
