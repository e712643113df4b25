"""The kit's deterministic test clip: a real, playable MP4 of exactly the guide's 21,136,250 bytes.

:func:`make_test_clip` writes ``C2C_TEST_CLIP.mp4``, a 16 s H.264/AAC clip of exactly :data:`TEST_CLIP_SIZE`
bytes (the guide's file), identical to the byte on every run (:data:`TEST_CLIP_SHA256`). It is encoded once
per machine with the ffmpeg that ``imageio-ffmpeg`` bundles, kept in a cache directory, and hard-linked or
copied from there.

Only the standard library is imported here; ``imageio_ffmpeg`` is imported when a clip is first encoded.

>>> TEST_CLIP_SIZE
21136250
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX only; elsewhere the atomic os.replace alone keeps concurrent callers safe
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["TEST_CLIP_NAME", "TEST_CLIP_SHA256", "TEST_CLIP_SIZE", "make_test_clip"]

StrPath = str | os.PathLike[str]

#: Size of the test clip in bytes: the file in Frame.io's upload guide (2 upload URLs, 10,568,125-byte chunks).
TEST_CLIP_SIZE = 21_136_250
#: File name used when :func:`make_test_clip` is given a directory, and inside the cache.
TEST_CLIP_NAME = "C2C_TEST_CLIP.mp4"
#: sha256 of the clip as imageio-ffmpeg 0.8.1's ffmpeg (n9.0.2, x86-64 Linux) makes it; identical over 5 encodes.
TEST_CLIP_SHA256 = "b64224a830204cee3623ee0ed3fbb5432842a084d4bb27c14fadeb6ce117ba2a"

_CLIP_SECONDS = 16
_FREE_HEADER = struct.Struct(">I4s")  # a top-level MP4 box header: 32-bit big-endian size, then the type
_ENCODE_TIMEOUT_S = 600.0  # ~3.5 s on a 2-core machine; generous for slow CI runners
_CACHE_ENV = "C2C_CACHE_DIR"


def make_test_clip(path: StrPath | None = None, *, cache_dir: StrPath | None = None) -> Path:
    """Write the kit's test clip: a playable MP4 of exactly :data:`TEST_CLIP_SIZE` bytes, always the same bytes.

    The first call on a machine encodes the clip into the cache (about 3-4 s of CPU); later calls
    hard-link or copy it from there. Asking again for a file that is already right costs one sha256
    (a few tens of milliseconds) and leaves it untouched.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Where to put the clip. An existing directory (or a path ending in a separator) gets
        :data:`TEST_CLIP_NAME` inside it; missing parent directories are created. A file already there
        with the right size and sha256 is returned as is; anything else there is replaced atomically.
        ``None`` (the default) returns the cached clip itself, which must not be modified.
    cache_dir : str or os.PathLike, optional
        Where the encoded clip is kept. Default: ``$C2C_CACHE_DIR`` if set, else ``~/.cache/c2c-kit``.

    Returns
    -------
    pathlib.Path
        The clip's path.

    Raises
    ------
    RuntimeError
        If ffmpeg fails, if the encode is too large to pad to :data:`TEST_CLIP_SIZE`, or if the result's
        sha256 is not :data:`TEST_CLIP_SHA256` (another ffmpeg build, or another CPU architecture, encodes
        other bytes). No partial or wrong file is left behind.

    Notes
    -----
    The recipe: a 16 s 1280x720 25 fps ``testsrc2`` with seeded noise and a 440 Hz sine, libx264
    ``-preset ultrafast`` at 9 Mbit/s with a 2 s GOP, AAC 128 kbit/s, all single-threaded,
    ``-cpuflags 0`` (ffmpeg's AVX/FMA code paths round AAC floats differently from its SSE2/C ones, so
    without it the bytes would depend on the CPU generation; x264 is bit-exact across its own assembly),
    bit-exact muxing without metadata, ``+faststart`` (``moov`` before ``mdat``). The encode comes out at
    about 19.0 MB; one top-level ``free`` box (ignored by players) pads it to the exact size.

    Writes are atomic (a temporary file, then :func:`os.replace`), and the encode holds a lock file in
    the cache directory, so concurrent callers (threads or processes) all end with a correct file and
    the clip is encoded only once. A copy made by hard link shares its inode with the cache, which is
    read-only: replace such a file rather than editing it in place.

    Examples
    --------
    >>> clip = make_test_clip("uploads/")  # doctest: +SKIP
    >>> clip, clip.stat().st_size  # doctest: +SKIP
    (PosixPath('uploads/C2C_TEST_CLIP.mp4'), 21136250)
    """
    cache_root = _resolve_cache_dir(cache_dir)
    if path is None:
        return _ensure_cached(cache_root)

    target = Path(path).expanduser()
    if target.is_dir() or os.fspath(path).endswith(("/", os.sep)):
        target = target / TEST_CLIP_NAME
    if _is_test_clip(target):
        return target

    cached = _ensure_cached(cache_root)
    if target.exists() and os.path.samefile(target, cached):  # `path` names the cache file itself
        return target
    _place(cached, target)
    return target


def _resolve_cache_dir(cache_dir: StrPath | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from_env = os.environ.get(_CACHE_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return Path.home() / ".cache" / "c2c-kit"


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _is_test_clip(path: Path) -> bool:
    """True when ``path`` is a regular file with the test clip's size and sha256 (size checked first)."""
    try:
        if not path.is_file() or path.stat().st_size != TEST_CLIP_SIZE:
            return False
        return _sha256(path) == TEST_CLIP_SHA256
    except OSError:
        return False


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) for the duration of the block."""
    if fcntl is None:  # pragma: no cover - Windows: os.replace keeps results correct, work may be repeated
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _ensure_cached(cache_root: Path) -> Path:
    """Return the cached clip, encoding it first if it is missing or wrong."""
    cached = cache_root / TEST_CLIP_NAME
    if _is_test_clip(cached):
        return cached
    cache_root.mkdir(parents=True, exist_ok=True)
    with _locked(cache_root / f".{TEST_CLIP_NAME}.lock"):
        if not _is_test_clip(cached):  # another process may have made it while we waited for the lock
            _encode(cached)
    return cached


def _ffmpeg_command(ffmpeg: str, out: Path) -> list[str]:
    """The ffmpeg command line that encodes the clip (before padding) into ``out``."""
    s = _CLIP_SECONDS
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y",
        "-cpuflags", "0",  # C/SSE2-exact code paths: the same bytes on every x86-64 CPU
        "-filter_threads", "1",
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={s},noise=alls=12:allf=t+u:all_seed=2112",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={s}",
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-b:v", "9M", "-maxrate", "9M", "-bufsize", "18M", "-g", "50",
        "-c:a", "aac", "-b:a", "128k",
        "-threads", "1",  # multi-threaded x264 gives other bytes on every run
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-movflags", "+faststart",
        "-f", "mp4", os.fspath(out),
    ]  # fmt: skip


def _encode(dest: Path) -> None:
    """Encode, pad and verify the clip into a temporary file beside ``dest``, then move it into place."""
    import imageio_ffmpeg  # heavy-ish and only needed here: keeps `import c2c_helpers` light

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        proc = subprocess.run(
            _ffmpeg_command(ffmpeg, tmp),
            capture_output=True, text=True, errors="replace", timeout=_ENCODE_TIMEOUT_S, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"ffmpeg ({ffmpeg}) failed with exit code {proc.returncode} "
                               f"while encoding the test clip:\n{tail}")  # fmt: skip
        _pad_with_free_box(tmp)
        digest = _sha256(tmp)
        if digest != TEST_CLIP_SHA256:
            raise RuntimeError(
                f"the test clip came out with sha256 {digest}, expected {TEST_CLIP_SHA256}: "
                f"this ffmpeg ({ffmpeg}, version {imageio_ffmpeg.get_ffmpeg_version()}) encodes other bytes "
                "than the build the kit pins (imageio-ffmpeg==0.8.1, ffmpeg n9.0.2, x86-64 Linux). "
                "Install that version, or upload a file of your own. The wrong file was deleted."
            )
        os.chmod(tmp, 0o444)  # hard-linked copies share this inode: discourage in-place edits
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _pad_with_free_box(path: Path) -> None:
    """Append one top-level ``free`` box so that ``path`` is exactly :data:`TEST_CLIP_SIZE` bytes."""
    encoded = path.stat().st_size
    pad = TEST_CLIP_SIZE - encoded
    if pad < _FREE_HEADER.size:
        raise RuntimeError(
            f"the encoded test clip is {encoded:,} bytes; it must be at most {TEST_CLIP_SIZE - _FREE_HEADER.size:,} "
            f"to be padded to {TEST_CLIP_SIZE:,} with an 8-byte `free` box header (a different ffmpeg build?)"
        )
    with path.open("ab") as f:
        f.write(_FREE_HEADER.pack(pad, b"free"))
        f.write(bytes(pad - _FREE_HEADER.size))
        f.flush()
        os.fsync(f.fileno())


def _place(cached: Path, target: Path) -> None:
    """Put a copy of the verified ``cached`` clip at ``target`` atomically: hard link, else copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        try:
            os.link(cached, tmp)  # same inode as the verified cache: nothing to check
        except OSError:  # another filesystem, or links not allowed: copy and verify the copy
            shutil.copyfile(cached, tmp)
            digest = _sha256(tmp)
            if digest != TEST_CLIP_SHA256:
                raise RuntimeError(f"copying the test clip to {target} gave sha256 {digest}, "
                                   f"expected {TEST_CLIP_SHA256}") from None  # fmt: skip
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
