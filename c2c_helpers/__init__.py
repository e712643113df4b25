"""c2c_helpers: each step of Frame.io's Camera to Cloud "basic upload" guide, done for real.

>>> import c2c_helpers
>>> c2c_helpers.chunk_size(c2c_helpers.TEST_CLIP_SIZE, 2)
10568125

The top level is the guide's three steps and nothing else (each module imports only those listed after it):

- :mod:`~c2c_helpers.upload`: :func:`upload_file`, the three steps orchestrated;
- :mod:`~c2c_helpers.pool`: the worker pool that sends the parts (basic and real-time uploads alike), and the
  file's progress events;
- :mod:`~c2c_helpers.parts`: one part streamed, hashed and retried (:func:`upload_chunk`);
- :mod:`~c2c_helpers.request`: an upload's arguments checked once (the file's MIME type and age too), into
  the one value the pool and the part sender read;
- :mod:`~c2c_helpers.retry`: :class:`RetryPolicy`, what is retryable, the API's 429s and the create budget;
- :mod:`~c2c_helpers.pairing`: pairing a device (the device-code flow), outside the upload path;
- :mod:`~c2c_helpers.client`: :class:`C2CClient` (session, auth headers, timeouts, the API calls);
  :mod:`~c2c_helpers.tokens`: tokens and their renewal;
- :mod:`~c2c_helpers.chunks`: :func:`chunk_size` and :func:`plan_chunks`, pure;
- :mod:`~c2c_helpers.asset`: :class:`Asset`; :mod:`~c2c_helpers.errors`: the error tree; ``_http`` and
  ``_redact``: timeouts, sessions, the one mapping of failures to errors, and :func:`redact`.

Around the core, each in a room of its own: :mod:`~c2c_helpers.resume` (the manifest on disk and what it still
vouches for), :mod:`~c2c_helpers.realtime` (a file uploaded while it is recorded, through the same pool),
:mod:`~c2c_helpers.lab` (for the notebooks: :func:`connect`, the test clip, widgets, player, transcript,
exercises) and :mod:`~c2c_helpers.tools` (the ``c2c`` command, many cameras at once).

Importing the package loads only ``requests`` and the standard library and changes no logger; the sandbox,
the widgets, ffmpeg and tqdm load when first used.
"""

from __future__ import annotations

from c2c_helpers._redact import redact
from c2c_helpers.asset import Asset
from c2c_helpers.chunks import Chunk, chunk_size, part_number_of, plan_chunks
from c2c_helpers.client import C2CClient
from c2c_helpers.errors import (
    APIError,
    AssetIncomplete,
    AuthError,
    C2CError,
    ChannelExists,
    ChannelPaused,
    ConfigurationError,
    FileChanged,
    InvalidArgument,
    InvalidFile,
    PairingExpired,
    PartUploadError,
    RateLimited,
    TransportError,
    UploadError,
    UploadInterrupted,
    UploadURLExpired,
)
from c2c_helpers.lab.connect import connect
from c2c_helpers.lab.testclip import TEST_CLIP_NAME, TEST_CLIP_SHA256, TEST_CLIP_SIZE, make_test_clip
from c2c_helpers.pairing import DeviceCode, pair_client, pair_device
from c2c_helpers.parts import PartResult, upload_chunk
from c2c_helpers.pool import ProgressEvent
from c2c_helpers.request import creation_offset, file_category, guess_filetype
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
    "ChannelExists",
    "ChannelPaused",
    "Chunk",
    "ConfigurationError",
    "DeviceCode",
    "FileChanged",
    "InvalidArgument",
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
    "pair_client",
    "pair_device",
    "part_number_of",
    "plan_chunks",
    "redact",
    "upload_chunk",
    "upload_file",
]
