"""An upload's arguments, checked once, before anything is sent: :class:`UploadRequest`; and what the create call
asks about the file: its MIME type (:func:`guess_filetype`), its Frame.io folder (:func:`file_category`), its
age (:func:`creation_offset`), answered without reading it.

:func:`check_request` turns what :func:`~c2c_helpers.upload.upload_file` (or
:func:`~c2c_helpers.realtime.upload_growing_file`) was given into one frozen :class:`UploadRequest`; the worker
pool and the part sender read that value and nothing else. Everything that can be refused locally is refused
here, before the asset is created: a missing, empty, unreadable or special file, an unknown MIME type, a number
of parts S3 cannot assemble, a wait no device could do, a bad count or choice. A bad argument raises
:class:`~c2c_helpers.errors.InvalidArgument` (:class:`~c2c_helpers.errors.InvalidFile` when it is about the
file), both ``ValueError``.

A file's *signature* (size and modification time) is taken here too, and :meth:`UploadRequest.unchanged`
compares it again before and after the parts are sent: a file that changed under an upload stops it with
:class:`~c2c_helpers.errors.FileChanged`, which says what becomes of the asset.

>>> check_request(Path("no/such/clip.mp4"))
Traceback (most recent call last):
...
c2c_helpers.errors.InvalidFile: no/such/clip.mp4: no such file
>>> wait_timeout(None, controls=None), wait_timeout(None, controls=object()), wait_timeout(30, controls=object())
(None, 120.0, 30.0)
>>> guess_filetype("A001_C002.braw"), file_category("video/x-braw"), file_category(guess_filetype("take3.wav"))
('video/x-braw', 'VIDEO', 'AUDIO')
"""

from __future__ import annotations

import math
import mimetypes
import os
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from c2c_helpers._http import Timeout, normalize_timeout
from c2c_helpers.asset import Asset
from c2c_helpers.chunks import MAX_PARTS, MIN_PART_SIZE, chunk_size, plan_chunks
from c2c_helpers.errors import ConfigurationError, FileChanged, InvalidArgument, InvalidFile, check_int, describe_fate
from c2c_helpers.retry import RetryPolicy

__all__ = [
    "DEFAULT_WORKERS",
    "NO_CONTROLS",
    "PART_TIMEOUT",
    "WAIT_TIMEOUT",
    "OnExpired",
    "UploadRequest",
    "check_file",
    "check_filetype",
    "check_parts",
    "check_request",
    "creation_offset",
    "file_category",
    "guess_filetype",
    "wait_timeout",
]

OnExpired = Literal["raise", "recreate"]
"""What :func:`~c2c_helpers.upload.upload_file` does when S3 says a part's URL expired: raise
``UploadURLExpired``, or create a fresh asset once and start over."""

#: Parts sent at once. Four saturates a typical uplink and a 2-core camera CPU without opening so many
#: connections that S3 answers SlowDown; the guide's clip has only two parts.
DEFAULT_WORKERS = 4
#: Seconds to wait for S3 once a part's last byte is sent (S3 answers within seconds and drops sockets idle for
#: ~20 s itself), and to connect or to get one block of the body out (a link that moves no byte for 10 s is
#: stalled; longer than the API's 5 s, because a camera's uplink is often busy with the other parts).
PART_TIMEOUT: tuple[float, float] = (10.0, 60.0)
#: Default seconds to wait for a sandbox to assemble the parts (only with its controls at hand).
WAIT_TIMEOUT = 120.0
#: Why a wait is refused without a sandbox's controls (one sentence, said before anything is sent).
NO_CONTROLS = (
    "wait=True needs a sandbox's controls to see the asset assembled, and a real device cannot see that (C2C is "
    "write, but don't read: the upload is done when every part got its 200), so leave wait out, or use a client "
    "from c2c_helpers.connect() for a sandbox"
)


@dataclass(frozen=True)
class UploadRequest:
    """One upload, checked: what the pool and the part sender read. Nothing here needs the network.

    ``path``, ``filetype`` (every part's ``Content-Type``), ``retry`` and ``timeout`` are what sending a part
    needs; ``size`` and ``signature`` (size, ``st_mtime_ns``) are None while the file is still growing (a
    real-time upload); ``wait_timeout`` is None when nobody will wait for the assembly.
    """

    path: Path
    filetype: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: tuple[float, float] = PART_TIMEOUT
    workers: int = 1
    name: str = ""
    size: int | None = None
    signature: tuple[int, int] | None = None
    offset: int = 0
    parts: int | None = None
    channel: int | None = None
    wait_timeout: float | None = None
    on_expired: OnExpired = "raise"
    manifest_path: Path | None = None
    verify: bool = True  # False: no part is hashed, no ETag checked (upload_file's verify)

    def unchanged(self, asset: Asset, *, sent: list[int], total: int) -> None:
        """FileChanged (with the asset and the parts `sent` of `total`) if the file is no longer what was
        planned; nothing for a growing file, whose size is expected to change."""
        if self.signature is None:
            return
        try:
            st = self.path.stat()
            now = (st.st_size, st.st_mtime_ns)
        except OSError:
            now = (-1, -1)
        if now == self.signature:
            return
        was = self.signature[0]
        what = (
            "disappeared"
            if now[0] < 0
            else f"changed size from {was:,} to {now[0]:,} bytes"
            if now[0] != was
            else "was modified (same size, new modification time)"
        )
        raise FileChanged(
            f"{self.path.name} {what} after its asset {asset.id} was created for {was:,} bytes, so the upload "
            f"stopped: {describe_fate(sent, total, mixed=bool(sent))}. Upload the file again, as a new asset, once "
            "it is final",
            asset=asset,
            parts_sent=sent,
        )


def check_request(
    path: Path,
    *,
    name: str | None = None,
    filetype: str | None = None,
    offset: int | None = None,
    parts: int | None = None,
    channel: int | None = None,
    workers: int = DEFAULT_WORKERS,
    retry: RetryPolicy | None = None,
    timeout: Timeout = PART_TIMEOUT,
    wait: bool | float | None = None,
    controls: object | None = None,
    on_expired: OnExpired = "raise",
    resume: str | os.PathLike[str] | None = None,
    growing: bool = False,
    verify: bool = True,
) -> UploadRequest:
    """Everything an upload can check without the network, as one :class:`UploadRequest`.

    `controls` are the sandbox's (``client.controls``): without them a wait is refused. With `growing` the file
    is still being written (it may not exist yet): it has no size or signature yet, and `parts` is not asked.
    """
    if not isinstance(path, Path):
        raise InvalidArgument(f"path must be a path, got {type(path).__name__}")
    if on_expired not in ("raise", "recreate"):
        raise InvalidArgument(f"on_expired must be 'raise' or 'recreate', got {on_expired!r}")
    if not isinstance(verify, bool):
        raise InvalidArgument(f"verify must be True or False, got {verify!r}")
    check_int("workers", workers, minimum=1)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidArgument(f"retry must be a RetryPolicy, got {type(retry).__name__}")
    if channel is not None:
        check_int("channel", channel, minimum=0)
    if offset is not None:
        check_int("offset", offset)  # seconds since the file was created; the API takes either sign
    size, signature = (None, None) if growing else check_file(path)
    name = path.name if name is None else name
    if not isinstance(name, str) or not name.strip():
        raise InvalidFile("name must be a non-empty string", path=path)
    filetype = check_filetype(Path(name) if growing else path, filetype)
    if parts is not None and size is not None:
        check_parts(path, size, parts)
    if offset is None:
        offset = creation_offset(path) if path.exists() else 0  # a recording that is starting: created now
    return UploadRequest(
        path=path,
        filetype=filetype,
        retry=retry if retry is not None else RetryPolicy(),
        timeout=normalize_timeout(timeout),
        workers=workers,
        name=name,
        size=size,
        signature=signature,
        offset=offset,
        parts=parts,
        channel=channel,
        wait_timeout=wait_timeout(wait, controls=controls),
        on_expired=on_expired,
        manifest_path=Path(resume) if resume is not None else None,
        verify=verify,
    )


def wait_timeout(wait: bool | float | None, *, controls: object | None) -> float | None:
    """`wait` as seconds to wait for the assembly, or None. None waits when a sandbox's controls are at hand;
    a wait asked for without them raises :class:`~c2c_helpers.errors.ConfigurationError`."""
    if wait is None:
        return WAIT_TIMEOUT if controls is not None else None
    if wait is False:
        return None
    if wait is True:
        seconds = WAIT_TIMEOUT
    elif isinstance(wait, int | float) and wait > 0 and wait != float("inf"):
        seconds = float(wait)
    else:
        raise InvalidArgument(f"wait must be True, False or a positive number of seconds, got {wait!r}")
    if controls is None:
        raise ConfigurationError(NO_CONTROLS)
    return seconds


def check_file(path: Path) -> tuple[int, tuple[int, int]]:
    """Size and (size, mtime) signature of a file we may upload; InvalidFile otherwise."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InvalidFile(f"{path}: no such file", path=path) from None
    except OSError as exc:
        raise InvalidFile(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})", path=path) from None
    if path.is_dir():
        raise InvalidFile(f"{path}: is a directory; upload_file takes one file", path=path)
    if not path.is_file():
        raise InvalidFile(f"{path}: not a regular file", path=path)
    if st.st_size == 0:
        raise InvalidFile(f"{path}: the file is empty (0 bytes); C2C needs a filesize of at least 1", path=path)
    if not os.access(path, os.R_OK):
        raise InvalidFile(f"{path}: not readable", path=path)
    return st.st_size, (st.st_size, st.st_mtime_ns)


def check_filetype(path: Path, filetype: str | None) -> str:
    """`filetype`, or the type guessed from the file name; InvalidFile for a type that is not ``type/subtype``."""
    if filetype is None:
        try:
            return guess_filetype(path)
        except ValueError as exc:  # the message says how to pass one
            raise InvalidFile(str(exc), path=path) from None
    if not isinstance(filetype, str) or not re.fullmatch(r"[\w.+!#$&^-]+/[\w.+!#$&^-]+", filetype.strip()):
        raise InvalidFile(f"filetype must be a MIME type such as 'video/mp4', got {filetype!r}", path=path)
    return filetype.strip()


def check_parts(path: Path, size: int, parts: int) -> None:
    """Refuse a number of parts S3 cannot assemble for `size` bytes (before the asset is created)."""
    check_int("parts", parts, minimum=1, maximum=MAX_PARTS)
    try:
        plan_chunks(size, ["planned"] * parts)
    except ValueError as exc:
        raise InvalidFile(f"{path.name}: {exc}", path=path) from None
    part = chunk_size(size, parts)
    if parts > 1 and part < MIN_PART_SIZE:
        most = max(1, size // MIN_PART_SIZE)
        raise InvalidFile(
            f"{path.name}: parts={parts} gives {part:,}-byte parts, but S3 needs every part but the last to have "
            f"at least {MIN_PART_SIZE:,} bytes (5 MiB); at most {most} part{'s' if most > 1 else ''} fit "
            f"{size:,} bytes",
            path=path,
        )


StrPath = str | os.PathLike[str]

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
    InvalidArgument
        (a ValueError) If the extension is missing or unknown; the message names the file and how to pass
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
    c2c_helpers.errors.InvalidArgument: cannot tell the MIME type of 'A001C003.xyz' from its extension '.xyz'; ...
    """
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    filetype = _MEDIA_TYPES.get(suffix)
    if filetype is None and suffix:
        filetype = _python_mimetypes().guess_type(f"file{suffix}", strict=False)[0]
    if filetype is None:
        what = f"from its extension {suffix!r}" if suffix else "because it has no extension"
        raise InvalidArgument(
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
