"""c2c_helpers: each step of Frame.io's Camera to Cloud "basic upload" guide, done for real.

>>> import c2c_helpers
>>> c2c_helpers.chunk_size(c2c_helpers.TEST_CLIP_SIZE, 2)
10568125

The modules, one concept each:

- :mod:`~c2c_helpers.errors`: the error tree and :func:`redact`;
- :mod:`~c2c_helpers.client`: :class:`C2CClient` (session, auth, timeouts, the API calls) and :class:`Asset`;
- :mod:`~c2c_helpers.auth`: device-code pairing and token refresh;
- :mod:`~c2c_helpers.chunks`: :func:`chunk_size` and :func:`plan_chunks`, pure;
- :mod:`~c2c_helpers.upload`: :func:`upload_chunk`, :func:`upload_file`, :class:`RetryPolicy`, progress events;
- :mod:`~c2c_helpers.media`: MIME type, creation offset, the deterministic test clip;
- :mod:`~c2c_helpers.connect`: :func:`connect`, the real service when configured, else an embedded sandbox.

Importing the package loads only ``requests`` and the standard library; the sandbox, the widgets, ffmpeg and
tqdm load when first used.
"""

from __future__ import annotations

from c2c_helpers.auth import DeviceCode, Tokens, pair_device
from c2c_helpers.chunks import Chunk, chunk_size, plan_chunks
from c2c_helpers.client import Asset, C2CClient
from c2c_helpers.connect import connect
from c2c_helpers.errors import (
    APIError,
    AssetIncomplete,
    AuthError,
    C2CError,
    ChannelPaused,
    ConfigurationError,
    FileChanged,
    InvalidFile,
    PairingExpired,
    PartUploadError,
    RateLimited,
    TransportError,
    UploadError,
    UploadInterrupted,
    UploadURLExpired,
    redact,
)
from c2c_helpers.media import (
    TEST_CLIP_NAME,
    TEST_CLIP_SHA256,
    TEST_CLIP_SIZE,
    creation_offset,
    file_category,
    guess_filetype,
    make_test_clip,
)
from c2c_helpers.upload import (
    PartResult,
    ProgressEvent,
    RetryPolicy,
    UploadResult,
    upload_chunk,
    upload_file,
)

__all__ = [
    "TEST_CLIP_NAME",
    "TEST_CLIP_SHA256",
    "TEST_CLIP_SIZE",
    "APIError",
    "Asset",
    "AssetIncomplete",
    "AuthError",
    "C2CClient",
    "C2CError",
    "ChannelPaused",
    "Chunk",
    "ConfigurationError",
    "DeviceCode",
    "FileChanged",
    "InvalidFile",
    "PairingExpired",
    "PartResult",
    "PartUploadError",
    "ProgressEvent",
    "RateLimited",
    "RetryPolicy",
    "Tokens",
    "TransportError",
    "UploadError",
    "UploadInterrupted",
    "UploadResult",
    "UploadURLExpired",
    "chunk_size",
    "connect",
    "creation_offset",
    "file_category",
    "guess_filetype",
    "make_test_clip",
    "pair_device",
    "plan_chunks",
    "redact",
    "upload_chunk",
    "upload_file",
]
