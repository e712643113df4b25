"""What an upload needs to know about a file, and the kit's deterministic test clip.

Three small questions the asset-create call asks, answered without reading the file:

- :func:`guess_filetype`: the MIME type sent as ``filetype`` (and, byte for byte, as every part's
  ``Content-Type``);
- :func:`creation_offset`: ``offset``, the whole seconds since the file was created;
- :func:`file_category`: the ``VIDEO`` / ``AUDIO`` / ``DATA`` folder Frame.io files it under.

And one file to upload: :func:`make_test_clip` writes ``C2C_TEST_CLIP.mp4``, a real, playable 16 s
H.264/AAC clip of exactly :data:`TEST_CLIP_SIZE` bytes (the guide's 21,136,250), identical to the byte
on every run (:data:`TEST_CLIP_SHA256`). It is encoded once per machine with the ffmpeg that
``imageio-ffmpeg`` bundles, kept in a cache directory, and hard-linked or copied from there.

Only the standard library is imported here; ``imageio_ffmpeg`` is imported when a clip is first encoded.

Examples
--------
>>> guess_filetype("A001_C002.braw")
'video/x-braw'
>>> file_category(guess_filetype("A001_C002.braw"))
'VIDEO'
>>> file_category(guess_filetype("scene1_take3.wav"))
'AUDIO'
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import mimetypes
import os
import shutil
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

try:  # POSIX only; elsewhere the atomic os.replace alone keeps concurrent callers safe
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "TEST_CLIP_NAME",
    "TEST_CLIP_SHA256",
    "TEST_CLIP_SIZE",
    "creation_offset",
    "file_category",
    "guess_filetype",
    "make_test_clip",
]

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


# --------------------------------------------------------------------------------------------------
# the test clip
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# MIME type, category, offset
# --------------------------------------------------------------------------------------------------

# Pinned types for the files cameras and recorders write. They take precedence over Python's table
# so that the answer does not change between Python versions (newer ones say `audio/vnd.wave` for .wav)
# or machines (the global `mimetypes` also reads /etc/mime.types and the Windows registry).
#
# - .wav/.bwf: `audio/wav`, the name browsers and the WHATWG MIME Sniffing standard use (what the
#   Frame.io web uploader would send); Python 3.11 says `audio/x-wav`, IANA registers `audio/vnd.wave`.
# - Camera raw clips: Blackmagic (.braw), RED (.r3d), Canon (.crm) and ARRI (.ari) have registered no
#   media type with IANA, and Python's table has none. These follow the unregistered `x-` convention
#   used for them by media tools; the top level is what matters, because it picks Frame.io's folder:
#   .braw, .r3d and .crm are clips (video/*, VIDEO); an .ari file holds one ARRIRAW frame (image/*, DATA).
#   application/octet-stream would file every raw clip under DATA. The server only stores the string,
#   and the part uploads must repeat it exactly, so pass `filetype=` if your pipeline expects another.
_MEDIA_TYPES: dict[str, str] = {
    # video
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mxf": "application/mxf",  # RFC 4539 (so Frame.io's rule files MXF under DATA)
    ".mts": "video/mp2t",  # AVCHD
    ".m2ts": "video/mp2t",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".3gp": "video/3gpp",  # Python's strict table says audio/3gpp; phones write video
    ".braw": "video/x-braw",
    ".r3d": "video/x-r3d",
    ".crm": "video/x-canon-crm",
    ".ari": "image/x-arriraw",
    # audio
    ".wav": "audio/wav",
    ".bwf": "audio/wav",  # Broadcast Wave, from field recorders
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".flac": "audio/flac",
    # stills
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".heic": "image/heic",
    ".dng": "image/x-adobe-dng",
}


@cache
def _python_mimetypes() -> mimetypes.MimeTypes:
    """Python's built-in table only: unlike the module-level functions, it ignores the system's files."""
    return mimetypes.MimeTypes()


def guess_filetype(path: StrPath) -> str:
    """The MIME type to send as ``filetype``, from the file name's extension alone.

    Camera and recorder formats come from a pinned table (see the comment above ``_MEDIA_TYPES`` in
    the source for where each value comes from); other extensions from Python's built-in
    :mod:`mimetypes` table, not the machine's, so every machine gives the same answer. The file is not
    opened, and need not exist.

    Parameters
    ----------
    path : str or os.PathLike
        The file's path or name. The extension is matched case-insensitively.

    Returns
    -------
    str
        A MIME type such as ``"video/mp4"``. WAV files give ``"audio/wav"``.

    Raises
    ------
    ValueError
        If the extension is missing or unknown; the message names the file and how to pass
        ``filetype=`` explicitly.

    Examples
    --------
    >>> guess_filetype("C2C_TEST_CLIP.mp4")
    'video/mp4'
    >>> guess_filetype("/media/CARD/A001C003.MOV")
    'video/quicktime'
    >>> guess_filetype("take3.wav")
    'audio/wav'
    >>> guess_filetype("notes.pdf")
    'application/pdf'
    >>> guess_filetype("A001C003.xyz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot tell the MIME type of 'A001C003.xyz' from its extension '.xyz'; ...
    """
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    filetype = _MEDIA_TYPES.get(suffix)
    if filetype is None and suffix:
        filetype = _python_mimetypes().guess_type(f"file{suffix}", strict=False)[0]
    if filetype is None:
        what = f"from its extension {suffix!r}" if suffix else "because it has no extension"
        raise ValueError(
            f"cannot tell the MIME type of {name!r} {what}; "
            "pass it explicitly, e.g. upload_file(path, filetype='video/mp4'), "
            "or create_asset(..., filetype='application/octet-stream', ...)"
        )
    return filetype


def file_category(filetype: str) -> str:
    """The device-folder group Frame.io files an asset under: ``"VIDEO"``, ``"AUDIO"`` or ``"DATA"``.

    ``video/*`` is VIDEO, ``audio/*`` is AUDIO, and everything else (stills, documents, MXF's
    ``application/mxf``, malformed types) is DATA. Case and parameters are ignored.

    Parameters
    ----------
    filetype : str
        A MIME type, e.g. from :func:`guess_filetype`.

    Returns
    -------
    str
        ``"VIDEO"``, ``"AUDIO"`` or ``"DATA"``.

    Examples
    --------
    >>> file_category("video/quicktime")
    'VIDEO'
    >>> file_category("Audio/WAV")
    'AUDIO'
    >>> file_category("image/jpeg")
    'DATA'
    """
    top = filetype.split(";", 1)[0].split("/", 1)[0].strip().lower()
    return {"video": "VIDEO", "audio": "AUDIO"}.get(top, "DATA")


def creation_offset(path: StrPath, *, now: float | None = None) -> int:
    """Whole seconds since the file was created: the ``offset`` the asset-create call must send.

    Uses the birth time where the platform reports one (``st_birthtime``: macOS, BSD, Windows with
    Python 3.12+), else the earlier of the modification and status-change times (Linux keeps no birth
    time in :func:`os.stat`; a copy made with ``cp -p`` or ``rsync -t`` keeps its mtime, while its ctime
    is the moment of the copy). Rounded down, and never negative: a file dated in the future (clock
    skew between the camera and this machine) gives 0.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    now : float, optional
        The current time in seconds since the epoch; default :func:`time.time`. For tests.

    Returns
    -------
    int
        Seconds, >= 0.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     os.utime(f.name, (1_700_000_000, 1_700_000_000))
    ...     creation_offset(f.name, now=1_700_000_090.9)
    90
    """
    st = os.stat(path)
    created = getattr(st, "st_birthtime", None)
    if created is None:
        created = min(st.st_mtime, st.st_ctime)
    current = time.time() if now is None else now
    return max(0, math.floor(current - created))
