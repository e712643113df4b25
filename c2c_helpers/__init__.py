"""c2c_helpers: each step of Frame.io's Camera to Cloud "basic upload" guide, done for real.

>>> import c2c_helpers
>>> c2c_helpers.chunk_size(c2c_helpers.TEST_CLIP_SIZE, 2)
10568125

The modules, one concept each (arrows point one way, from the top of this list down):

- :mod:`~c2c_helpers.upload`: :func:`upload_file`, the guide's three steps orchestrated;
- :mod:`~c2c_helpers.pool`: the worker pool that sends a file's parts;
- :mod:`~c2c_helpers.resume.trust`: the resume manifest and its checks; :mod:`~c2c_helpers.request`: what is refused
  before anything is sent;
- :mod:`~c2c_helpers.parts`: one part streamed, retried: :func:`upload_chunk`;
- :mod:`~c2c_helpers.progress`: progress events and the totals aggregator;
- :mod:`~c2c_helpers.retry`: :class:`RetryPolicy`, what is retryable, S3's errors;
- :mod:`~c2c_helpers.client`: :class:`C2CClient` (session, auth headers, timeouts, the API calls);
- :mod:`~c2c_helpers.asset`: :class:`Asset`; :mod:`~c2c_helpers.pairing`: device-code pairing;
  :mod:`~c2c_helpers.tokens`: tokens, their renewal;
- :mod:`~c2c_helpers.chunks`: :func:`chunk_size` and :func:`plan_chunks`, pure;
- :mod:`~c2c_helpers.media`: MIME type, creation offset; :mod:`~c2c_helpers.lab.testclip`: the deterministic clip;
- :mod:`~c2c_helpers.errors`: the error tree; ``_http`` and ``_redact``: timeouts, sessions, the one mapping of
  failures to errors, and :func:`redact`;
- beside the client: :mod:`~c2c_helpers.lab.connect` (:func:`connect`: the real service when configured, else an
  embedded sandbox), :mod:`~c2c_helpers.tools.cli`, :mod:`~c2c_helpers.lab.widgets`, :mod:`~c2c_helpers.lab.transcript`.

Importing the package loads only ``requests`` and the standard library and changes no logger; the sandbox,
the widgets, ffmpeg and tqdm load when first used.
"""

from __future__ import annotations

from c2c_helpers._redact import redact
from c2c_helpers.asset import Asset
from c2c_helpers.chunks import Chunk, chunk_size, plan_chunks
from c2c_helpers.client import C2CClient
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
)
from c2c_helpers.integrity import part_number_of
from c2c_helpers.lab.connect import connect
from c2c_helpers.lab.testclip import TEST_CLIP_NAME, TEST_CLIP_SHA256, TEST_CLIP_SIZE, make_test_clip
from c2c_helpers.media import creation_offset, file_category, guess_filetype
from c2c_helpers.pairing import DeviceCode, pair_device
from c2c_helpers.parts import PartResult, upload_chunk
from c2c_helpers.progress import ProgressEvent
from c2c_helpers.retry import RetryPolicy
from c2c_helpers.tokens import Tokens
from c2c_helpers.upload import UploadResult, upload_file

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
    "part_number_of",
    "plan_chunks",
    "redact",
    "upload_chunk",
    "upload_file",
]
