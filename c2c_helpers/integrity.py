"""Part integrity: what was sent is what S3 stored, and each upload URL is the part it claims to be.

Frame.io's upload URLs sign only ``content-type;host;x-amz-acl``, so a client cannot ask S3 to check a digest:
S3 refuses a ``Content-MD5`` (or any ``x-amz-*`` header) the URL did not sign with 403 ``AccessDenied``
(``<HeadersNotSigned>``). What S3 does give back is the part's ``ETag``, which for an unencrypted or SSE-S3
part is the hex MD5 of the bytes it stored. So the client hashes each part while streaming it
(:class:`~c2c_helpers.parts.PartBody`) and compares: a different ETag means the bytes were damaged on the way,
and the part is sent again. An ETag that is not 32 hex digits (SSE-KMS, or a multipart ``"<md5>-<n>"``) is not
an MD5: the check is skipped and the result says so.

A presigned part URL carries its part number (``partNumber``), and S3 assembles parts by that number, not by
the order the URLs were listed in: a part sent to another part's URL lands in the wrong place and the asset
completes with its bytes shuffled. :func:`misplaced_urls` finds the URLs whose ``partNumber`` is not their
position. :func:`file_md5` re-reads a part of a file, as a resumed upload does for every part it would skip.

Examples
--------
>>> is_md5_etag('"9e107d9d372bb6826bd81d3542a419d6"'), is_md5_etag("9e107d9d372bb6826bd81d3542a419d6-2")
(True, False)
>>> misplaced_urls(["https://s3/k?partNumber=2&uploadId=u", "https://s3/k?uploadId=u&partNumber=1"])
[(1, 2), (2, 1)]
>>> misplaced_urls(["https://s3/k?partNumber=1", "https://elsewhere/no-part-number"])
[]
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit

__all__ = ["HASH_BLOCK", "file_md5", "is_md5_etag", "md5_hex", "misplaced_urls", "new_md5", "part_number_of"]

#: Block size when a part is re-read from disk to be hashed: large enough that hashlib releases the GIL and
#: the read syscalls cost nothing next to the hashing (MD5 runs at ~0.5 GB/s per core).
HASH_BLOCK = 1024 * 1024
_MD5_RE = re.compile(r"[0-9a-fA-F]{32}")


def new_md5() -> hashlib._Hash:
    """A fresh MD5 (S3's ETag algorithm: an integrity check, not security)."""
    return hashlib.md5(usedforsecurity=False)


def md5_hex(etag: str) -> str | None:
    """The MD5 an ETag stands for (lower-case hex, quotes stripped), or None when it is not an MD5."""
    value = etag.strip().strip('"')
    return value.lower() if _MD5_RE.fullmatch(value) else None


def is_md5_etag(etag: str) -> bool:
    """Whether S3's ETag is the MD5 of the part (32 hex digits): True for unencrypted and SSE-S3 parts."""
    return md5_hex(etag) is not None


def part_number_of(url: str) -> int | None:
    """The ``partNumber`` a presigned part URL is signed for, or None when it has none (or not a number)."""
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == "partNumber":
            return int(value) if value.isdigit() else None
    return None


def misplaced_urls(urls: Sequence[str]) -> list[tuple[int, int]]:
    """``(position, partNumber)`` (both 1-based) of every URL whose ``partNumber`` is not its position.

    URLs without a ``partNumber`` cannot be checked and are not reported.
    """
    found = [(i, part_number_of(url)) for i, url in enumerate(urls, start=1)]
    return [(i, n) for i, n in found if n is not None and n != i]


def file_md5(path: str | os.PathLike[str], start: int, size: int) -> str | None:
    """The hex MD5 of bytes ``[start, start + size)`` of a file; None when the file ends before them."""
    md5 = new_md5()
    view = memoryview(bytearray(min(HASH_BLOCK, max(size, 1))))
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        remaining = size
        while remaining > 0:
            got = f.readinto(view[: min(remaining, len(view))])
            if not got:
                return None
            md5.update(view[:got])  # hashlib releases the GIL on blocks this size: workers hash in parallel
            remaining -= got
    return md5.hexdigest()
