"""What an upload needs to know about a file: its MIME type, its Frame.io folder, its age.

Three small questions the asset-create call asks, answered without reading the file:

- :func:`guess_filetype`: the MIME type sent as ``filetype`` (and, byte for byte, as every part's
  ``Content-Type``);
- :func:`creation_offset`: ``offset``, the whole seconds since the file was created;
- :func:`file_category`: the ``VIDEO`` / ``AUDIO`` / ``DATA`` folder Frame.io files it under.

The kit's test clip lives in :mod:`c2c_helpers.lab.testclip`; its names are re-exported here too.

Only the standard library is imported here.

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

import math
import mimetypes
import os
import time
from functools import cache
from pathlib import Path

from c2c_helpers.lab.testclip import TEST_CLIP_NAME, TEST_CLIP_SHA256, TEST_CLIP_SIZE, make_test_clip

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
