"""Errors raised by the C2C client, and the redaction every message goes through.

The tree is shallow; catch the base to catch everything the client raises on purpose::

    C2CError                      base: status, code, title, detail, response, retryable
    ├── ConfigurationError        (also ValueError) no API URL or token to talk to
    ├── InvalidFile               (also ValueError) a file refused before anything was sent
    ├── TransportError            no HTTP answer: connection refused or reset, timeout
    ├── APIError                  the C2C API answered with an error (either JSON shape)
    │   ├── AuthError             401, or an OAuth error from the auth endpoints
    │   │   └── PairingExpired    the six-digit code expired before anybody entered it
    │   ├── ChannelPaused         409: the file was created while the device/channel was paused
    │   └── RateLimited           429: too many requests; ``retry_after`` says how long to wait
    └── UploadError               an upload was started and did not finish: ``asset``, ``parts_sent``
        ├── PartUploadError       one part failed for good: part, S3 code, attempts, redacted URL
        │   └── UploadURLExpired  403 AccessDenied "Request has expired": retrying the URL cannot help
        ├── FileChanged           the file changed size while it was being uploaded
        └── AssetIncomplete       the service did not report the asset complete (timeout or failed)

    UploadInterrupted             (a KeyboardInterrupt, outside the tree) Ctrl-C during an upload:
                                  says which parts were sent; ``except Exception`` does not swallow it

``retryable`` says whether sending the same request again could succeed. The client decides what it does
with that: it retries part uploads, but never the asset-create POST on a 5xx (that could duplicate the asset).

Secrets never reach a message: every message passes through :func:`redact`, which removes bearer tokens,
token/secret form and JSON fields and the ``X-Amz-*`` signature of presigned URLs. The ``response`` attribute
is the raw :class:`requests.Response` for inspection; its ``url`` and request headers are *not* redacted, so
do not log it whole.

Examples
--------
>>> err = RateLimited("slow down", status=429, retry_after=1.0)
>>> isinstance(err, APIError), err.retryable, err.retry_after
(True, True, 1.0)
>>> redact("PUT https://s3.example/b/k?partNumber=1&X-Amz-Signature=abc123 failed")
'PUT https://s3.example/b/k?partNumber=1&<signature redacted> failed'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from c2c_helpers.chunks import _redacted_url

if TYPE_CHECKING:
    import requests

__all__ = [
    "APIError",
    "AssetIncomplete",
    "AuthError",
    "C2CError",
    "ChannelPaused",
    "ConfigurationError",
    "FileChanged",
    "InvalidFile",
    "PairingExpired",
    "PartUploadError",
    "RateLimited",
    "TransportError",
    "UploadError",
    "UploadInterrupted",
    "UploadURLExpired",
    "api_error_from_response",
    "redact",
    "redact_url",
]

REDACTED = "<redacted>"
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
    return _redacted_url(url)  # one implementation: chunks.py (which imports nothing of the project) owns it


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


class C2CError(Exception):
    """Base of every error the client raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, what to do about it. Redacted before it is stored.
    status : int, optional
        HTTP status of the answer, if there was one.
    code : str or int, optional
        Machine-readable code: the API's error code, the OAuth ``error`` or the S3 ``<Code>``.
    title, detail : str, optional
        The API's ``title`` and ``detail`` (or S3's ``<Message>``), redacted.
    response : requests.Response, optional
        The raw answer. Not redacted: do not log it whole.
    retryable : bool, optional
        Whether the same request could succeed if sent again; defaults to the class's ``retryable``.
    secrets : iterable of str, optional
        Extra literal values to scrub from the message.

    Examples
    --------
    >>> e = C2CError("boom", status=500, code=500, title="Internal Server Error")
    >>> e.status, e.retryable, str(e)
    (500, False, 'boom')
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        title: str | None = None,
        detail: str | None = None,
        response: requests.Response | None = None,
        retryable: bool | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        secrets = tuple(secrets)
        self.message = redact(message, secrets)
        super().__init__(self.message)
        self.status = status
        self.code = code
        self.title = redact(title, secrets) if title else title
        self.detail = redact(detail, secrets) if detail else detail
        self.response = response
        if retryable is not None:
            self.retryable = retryable

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep pickling (multiprocessing, pytest-xdist) working despite the keyword-only constructor.
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[C2CError], message: str, state: dict[str, Any]) -> C2CError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigurationError(C2CError, ValueError):
    """The client was not told where the API is or which token to use."""


class InvalidFile(C2CError, ValueError):
    """A file that cannot be uploaded, refused before anything was sent.

    ``path`` names the file.
    """

    def __init__(self, message: str, *, path: object = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.path = path


class TransportError(C2CError):
    """No HTTP answer: the connection was refused, reset or dropped, or a timeout passed.

    Retryable in principle; the client still never repeats an asset-create POST by itself.
    """

    retryable = True


class APIError(C2CError):
    """The C2C API answered with an error status.

    Both error shapes land here: the detailed ``{"code", "errors": [{"title", "detail", ...}], "message"}``
    and the OAuth ``{"error": "invalid_client"}`` (whose ``error`` becomes ``code``).
    """


class AuthError(APIError):
    """401 Not Authorized, or an OAuth error from ``/v2/auth/*`` (``code`` is the OAuth ``error``)."""


class PairingExpired(AuthError):
    """The device code expired before a person entered it in Frame.io: request a new code."""


class ChannelPaused(APIError):
    """409 Channel Paused: the file was created (now - offset) while the device or channel was paused.

    Frame.io refuses such files on purpose; uploading it again will be refused too.
    """


class RateLimited(APIError):
    """429: too many requests. ``retry_after`` is how many seconds the service asked us to wait."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UploadError(C2CError):
    """An upload was started (the asset exists) and did not finish.

    ``asset`` is the :class:`~c2c_helpers.client.Asset` (or ``None`` when a part was sent on its own),
    ``parts_sent`` the 1-based numbers of the parts that were sent successfully.
    """

    def __init__(
        self,
        message: str,
        *,
        asset: Any = None,
        parts_sent: Iterable[int] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.asset = asset
        self.parts_sent: tuple[int, ...] = tuple(sorted(parts_sent))


class PartUploadError(UploadError):
    """A part PUT to S3 failed for good (not retryable, or out of attempts).

    Attributes: ``part_index`` (0-based), ``part_number`` (1-based, S3's ``partNumber``), ``s3_code``
    (``SlowDown``, ``SignatureDoesNotMatch``, ... or ``None`` for a connection error), ``attempts``, ``url``
    (redacted), plus ``status``, ``detail`` (S3's ``<Message>``) and ``response``.
    """

    def __init__(
        self,
        message: str,
        *,
        part_index: int,
        s3_code: str | None = None,
        attempts: int = 1,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("code", s3_code)
        super().__init__(message, **kwargs)
        self.part_index = part_index
        self.part_number = part_index + 1
        self.s3_code = s3_code
        self.attempts = attempts
        self.url = redact_url(url) if url else url


class UploadURLExpired(PartUploadError):
    """403 AccessDenied "Request has expired": the presigned URL is dead; retrying it cannot help.

    The service issues URLs that live 24 hours; create a new asset to get fresh ones.
    """


class FileChanged(UploadError):
    """The file changed size (or was replaced) after its asset was created."""


class AssetIncomplete(UploadError):
    """Every part was sent but the service did not report the asset complete (timed out or failed)."""


class UploadInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`~c2c_helpers.upload.upload_file`: the workers were stopped.

    A :class:`KeyboardInterrupt`, so ``except Exception`` does not swallow the user's Ctrl-C. ``asset`` is the
    asset created for the upload, ``parts_sent`` the 1-based numbers of the parts that reached S3,
    ``parts_total`` how many there were.

    Examples
    --------
    >>> e = UploadInterrupted(asset=None, parts_sent=[2, 1], parts_total=3)
    >>> str(e)
    'upload interrupted: parts 1, 2 of 3 were sent; part 3 was not'
    """

    def __init__(self, *, asset: Any, parts_sent: Iterable[int], parts_total: int) -> None:
        self.asset = asset
        self.parts_sent: tuple[int, ...] = tuple(sorted(parts_sent))
        self.parts_total = parts_total
        missing = [n for n in range(1, parts_total + 1) if n not in self.parts_sent]
        super().__init__(
            f"upload interrupted: {_describe_parts(self.parts_sent, parts_total, 'sent')}"
            + (f"; {_plural_parts(missing)} {'was' if len(missing) == 1 else 'were'} not" if missing else "")
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_interrupted, (self.asset, self.parts_sent, self.parts_total))


def _rebuild_interrupted(asset: Any, parts_sent: tuple[int, ...], parts_total: int) -> UploadInterrupted:
    return UploadInterrupted(asset=asset, parts_sent=parts_sent, parts_total=parts_total)


def _plural_parts(numbers: Iterable[int]) -> str:
    nums = list(numbers)
    return f"part{'s' if len(nums) != 1 else ''} {', '.join(map(str, nums))}"


def _describe_parts(sent: Iterable[int], total: int, verb: str) -> str:
    """Say which parts were `verb`, e.g. ``'parts 1, 3 of 4 were sent'``.

    >>> _describe_parts([], 2, "sent")
    'no part of 2 was sent'
    >>> _describe_parts([1], 1, "sent")
    'part 1 of 1 was sent'
    """
    nums = sorted(sent)
    if not nums:
        return f"no part of {total} was {verb}"
    return f"{_plural_parts(nums)} of {total} {'was' if len(nums) == 1 else 'were'} {verb}"


def api_error_from_response(
    response: requests.Response,
    *,
    context: str = "",
    secrets: Iterable[str | None] = (),
) -> APIError:
    """Turn an error answer of the C2C API into the matching :class:`APIError` subclass.

    Understands both shapes (detailed and OAuth) and anything else (an HTML page from a proxy, say), whose
    first 200 characters, redacted, become the detail.

    Parameters
    ----------
    response : requests.Response
        An answer with a 4xx or 5xx status.
    context : str
        What was being done, e.g. ``"POST /v2/devices/assets"``; starts the message.
    secrets : iterable of str
        Literal values to scrub from the message (the client's token, say).

    Returns
    -------
    APIError
        ``AuthError`` for 401 and OAuth errors, ``ChannelPaused`` for 409, ``RateLimited`` for 429,
        ``APIError`` otherwise; ``retryable`` is true for 408, 429 and 5xx.
    """
    status = response.status_code
    secrets = tuple(secrets)
    body = _json_or_none(response)
    code: str | int | None = status
    title: str | None = response.reason or None
    detail: str | None = None
    oauth = False
    if isinstance(body, Mapping):
        if "error" in body and isinstance(body["error"], str):
            oauth = True
            code = body["error"]
            title = body["error"]
            detail = body.get("error_description") if isinstance(body.get("error_description"), str) else None
        else:
            errors = body.get("errors")
            first: Mapping[str, Any] = {}
            if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
                first = errors[0]
            code = first.get("code", body.get("code", status))
            title = first.get("title") or body.get("message") or title
            detail = first.get("detail")
    elif response.text:
        detail = " ".join(response.text[:200].split())
    what = f"{context}: " if context else ""
    message = f"{what}{status} {title}" + (f": {detail}" if detail else "")
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "title": title,
        "detail": detail,
        "response": response,
        "secrets": secrets,
    }
    if status == 429:
        retry_after = _retry_after_seconds(response)
        hint = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(message + hint, retry_after=retry_after, **kwargs)
    if status == 401 or oauth:
        return AuthError(message, **kwargs)
    if status == 409:
        return ChannelPaused(message, **kwargs)
    return APIError(message, retryable=status == 408 or status >= 500, **kwargs)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return None


def _retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds to wait from ``Retry-After`` (s) or ``x-ratelimit-window`` (ms), whichever is present."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
    window = response.headers.get("x-ratelimit-window")
    if window:
        try:
            return max(0.0, float(window) / 1000.0)
        except ValueError:
            pass
    return None
