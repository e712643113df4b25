"""A stand-in camera: write a file the way a recorder does, a little at a time, so there is a growing file to
upload in real time (notebook 08, the tests, ``c2c record``, the benchmarks).

:func:`start_recording` copies a source file (the test clip by default, :func:`record_test_clip`) or writes
``size`` synthetic bytes to ``dest`` in small appends, at ``rate`` bytes per second (the clip's own bitrate is
:data:`TEST_CLIP_RATE`: 21,136,250 bytes in 16 s, about 10.6 Mbit/s) or as fast as the disk goes, in a thread.
Each append is a plain ``write`` (another process sees the bytes at once: the page cache is shared); the file
is fsynced when the recording ends, and then :attr:`Recording.done` is set: the signal a camera gives its
uploader when it stops recording (``upload_growing_file(done=recording.done)``).

>>> import tempfile, pathlib
>>> scratch = tempfile.TemporaryDirectory()  # removed at the end of the example
>>> out = pathlib.Path(scratch.name) / "take.bin"
>>> rec = start_recording(out, size=300_000, block=65_536)
>>> rec.wait(10) and out.stat().st_size, rec.bytes_written
(300000, 300000)
>>> scratch.cleanup()
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from c2c_helpers.errors import InvalidArgument
from c2c_helpers.lab.testclip import TEST_CLIP_SIZE, make_test_clip

__all__ = ["TEST_CLIP_RATE", "Recording", "record_test_clip", "start_recording"]

#: The test clip's real rate: 21,136,250 bytes over its 16 seconds (about 1.32 MB/s, 10.6 Mbit/s).
TEST_CLIP_RATE = TEST_CLIP_SIZE / 16
#: Bytes per append: a recorder writes a frame or a few at a time (64 KiB is about 50 ms of the test clip).
DEFAULT_BLOCK = 64 * 1024


class Recording:
    """A recording in progress, in its own thread. ``done`` is set once the last byte is written and fsynced;
    ``finished_at`` is then that moment (``time.monotonic()``) and ``sha256`` the digest of what was written."""

    def __init__(self, dest: Path, source: Path | None, size: int, rate: float | None, block: int) -> None:
        if rate is not None and rate <= 0:
            raise InvalidArgument("rate must be positive (bytes per second), or None for as fast as possible")
        self.dest, self.source, self.size, self.rate, self.block = dest, source, size, rate, block
        self.done = threading.Event()
        self.bytes_written = 0
        self.finished_at: float | None = None
        #: the same moment as ``time.time()`` (to compare with a server's timestamps)
        self.finished_epoch: float | None = None
        self.sha256: str | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"c2c-recorder-{dest.name}", daemon=True)

    def start(self) -> Recording:
        self.dest.unlink(missing_ok=True)
        self.dest.touch(mode=0o644)  # the file exists from the first moment, empty, as a camera's does
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop recording early (the file ends where it is; ``done`` is set)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end of the recording; True when it ended (re-raises the writer's error)."""
        ended = self.done.wait(timeout)
        if self.error is not None:
            raise self.error
        return ended

    def _run(self) -> None:
        sha = hashlib.sha256()
        started = time.monotonic()
        synthetic = bytearray(os.urandom(self.block)) if self.source is None else None
        fd = os.open(self.dest, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            with open(self.source, "rb") if self.source is not None else _Nothing() as src:
                while self.bytes_written < self.size and not self._stop.is_set():
                    want = min(self.block, self.size - self.bytes_written)
                    if synthetic is not None:
                        synthetic[:8] = self.bytes_written.to_bytes(8, "little")  # no two blocks alike
                        data = bytes(synthetic[:want])
                    else:
                        data = src.read(want)
                    _write_all(fd, data)
                    sha.update(data)
                    self.bytes_written += len(data)
                    if self.rate is not None:  # keep to the bitrate: sleep until this byte is due
                        delay = started + self.bytes_written / self.rate - time.monotonic()
                        if delay > 0:
                            self._stop.wait(delay)
            os.fsync(fd)
        except BaseException as exc:  # handed to wait(): the caller's thread raises it
            self.error = exc
        finally:
            os.close(fd)
            self.sha256 = sha.hexdigest()
            self.finished_at, self.finished_epoch = time.monotonic(), time.time()
            self.done.set()


class _Nothing:
    def __enter__(self) -> _Nothing:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self, n: int) -> bytes:  # pragma: no cover - never called: synthetic data is used instead
        return b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def start_recording(
    dest: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str] | None = None,
    size: int | None = None,
    rate: float | None = None,
    block: int = DEFAULT_BLOCK,
) -> Recording:
    """Start writing `dest` in a thread: a copy of `source` (its first `size` bytes), or `size` synthetic bytes,
    in appends of `block` bytes at `rate` bytes per second (None: as fast as possible). Returns at once."""
    if source is None and size is None:
        raise InvalidArgument("give a source file to copy, or a size of synthetic bytes to write")
    src = Path(source) if source is not None else None
    total = size if size is not None else os.stat(src).st_size  # type: ignore[arg-type]
    return Recording(Path(dest), src, total, rate, block).start()


def record_test_clip(dest: str | os.PathLike[str], *, speed: float = 1.0, block: int = DEFAULT_BLOCK) -> Recording:
    """Record the test clip to `dest` at `speed` times its real bitrate (1.0: 16 seconds; 8.0: 2 seconds).

    The clip is read from the kit's cache (:func:`~c2c_helpers.lab.testclip.make_test_clip`; no copy); when the
    recording is done, `dest` holds exactly the clip (same size and sha256).
    """
    clip = make_test_clip()  # the cached clip itself: a recording only reads its source
    return start_recording(dest, source=clip, rate=TEST_CLIP_RATE * speed, block=block)
