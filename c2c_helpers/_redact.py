"""Redaction: what every message, repr and log line passes through so that no secret reaches output.

Standard library only, so that :mod:`c2c_helpers.chunks` (pure arithmetic) can redact its reprs too.

- :func:`redact_url` drops a presigned URL's signature but keeps what identifies the part (host, path,
  ``partNumber``, ``uploadId``);
- :func:`redact` removes bearer tokens, token/secret form and JSON fields, every URL's signature, and any
  literal secret it is given.

Examples
--------
>>> redact("PUT https://s3.example/b/k?partNumber=1&X-Amz-Signature=abc123 failed")
'PUT https://s3.example/b/k?partNumber=1&<signature redacted> failed'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["REDACTED", "redact", "redact_url"]

REDACTED = "<redacted>"
#: What replaces a presigned URL's signature, credential, date...
SIGNATURE_REDACTED = "<signature redacted>"
# Query parameters of a presigned part URL that are safe to show: they say which part of which multipart
# upload the URL is for. Everything else (the X-Amz-* signature, credential, date, ...) is dropped.
_SHOWN_QUERY_KEYS = ("partNumber", "uploadId")
# Field names whose values are credentials, in JSON (`"name": "value"`), forms (`name=value`) or reprs.
_SECRET_NAMES = r"(?:access_token|refresh_token|client_secret|device_code|token|password|secret)"  # noqa: S105
# `"access_token": "..."` (JSON, Python reprs: the name is quoted) and `refresh_token=...` (forms, kwargs).
_SECRET_FIELD_RE = re.compile(
    rf"""(?ix)
    ( (?:['"]{_SECRET_NAMES}['"]\s*:\s*['"]?) | (?:\b{_SECRET_NAMES}=['"]?) )
    ([^'"&\s,;}}<>)]+)
    """
)
_BEARER_RE = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]+)")
_URL_RE = re.compile(r"https?://[^\s'\"<>]+(?:<signature redacted>)?")
# A path with a presigned query but no scheme, as urllib3 puts it in "Max retries exceeded with url: ...".
_PRESIGNED_PATH_RE = re.compile(r"(?i)(?<![\w:/.])/[^\s'\"<>?]*\?[^\s'\"<>]*X-Amz-[^\s'\"<>]*")
_AMZ_PARAM_RE = re.compile(r"(?i)\b(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s'\"<>]*")
# Only values at least this long are scrubbed verbatim (short ones would blank out ordinary words).
_MIN_SECRET_LEN = 6


def redact_url(url: str) -> str:
    """Return `url` with its presigned signature removed, keeping what identifies the part.

    Scheme, host, path, ``partNumber`` and ``uploadId`` stay; every other query parameter
    (``X-Amz-Signature``, ``X-Amz-Credential``, ...) and any ``user:password@`` go.

    Parameters
    ----------
    url : str
        Any URL.

    Returns
    -------
    str
        The URL, safe to log.

    Examples
    --------
    >>> redact_url("https://s3.example/b/k?partNumber=2&uploadId=u1&X-Amz-Credential=AKIA%2F&X-Amz-Signature=ff")
    'https://s3.example/b/k?partNumber=2&uploadId=u1&<signature redacted>'
    >>> redact_url(redact_url("https://s3.example/b/k?partNumber=2&X-Amz-Signature=ff"))  # idempotent
    'https://s3.example/b/k?partNumber=2&<signature redacted>'
    >>> redact_url("http://127.0.0.1:8080/v2/assets/42")
    'http://127.0.0.1:8080/v2/assets/42'
    """
    already = url.endswith(SIGNATURE_REDACTED)  # redacting twice gives the same text
    if already:
        url = url[: -len(SIGNATURE_REDACTED)].rstrip("&?")
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL redacted>"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k in _SHOWN_QUERY_KEYS]
    query = urlencode(kept)
    if already or len(kept) < len(pairs):
        query = f"{query}&{SIGNATURE_REDACTED}" if query else SIGNATURE_REDACTED
    netloc = parts.netloc.rpartition("@")[2]  # never show user:password@
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove credentials from `text`.

    Removes bearer tokens, the values of fields named like ``access_token``, ``refresh_token``,
    ``client_secret``, ``device_code``, ``token``, the signature of every URL (see :func:`redact_url`), and
    every literal value in `secrets` (the live token of a client, say).

    Parameters
    ----------
    text : str
        Any text: a message, a response body, a repr.
    secrets : iterable of str or None
        Exact values to scrub wherever they appear. ``None`` and very short values are ignored.

    Returns
    -------
    str
        The text, safe for logs, error messages and terminals.

    Examples
    --------
    >>> redact('Authorization: Bearer eyJhbGciOi.x.y')
    'Authorization: Bearer <redacted>'
    >>> redact('{"access_token": "abc", "token_type": "bearer"}')
    '{"access_token": "<redacted>", "token_type": "bearer"}'
    >>> redact("grant_type=refresh_token&refresh_token=9f1c&client_id=cam-1")
    'grant_type=refresh_token&refresh_token=<redacted>&client_id=cam-1'
    >>> redact("Max retries exceeded with url: /b/k?partNumber=1&X-Amz-Date=20260101T000000Z&X-Amz-Signature=ff")
    'Max retries exceeded with url: /b/k?partNumber=1&<signature redacted>'
    >>> redact("token abcdef123 leaked", secrets=["abcdef123"])
    'token <redacted> leaked'
    """
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LEN:
            text = text.replace(secret, REDACTED)
    text = _URL_RE.sub(_redact_url_match, text)
    text = _PRESIGNED_PATH_RE.sub(_redact_url_match, text)
    text = _AMZ_PARAM_RE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER_RE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_FIELD_RE.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def _redact_url_match(match: re.Match[str]) -> str:
    url = match.group(0)
    stripped = url.rstrip(".,;:!?)]}")  # punctuation that ends a sentence, not the URL
    return redact_url(stripped) + url[len(stripped) :]
