"""What every HTTP call of the client shares: timeouts, sessions, and how failures become errors.

- the timeouts: ``(connect, read)`` seconds on every request (:data:`DEFAULT_TIMEOUT` for API calls);
- :func:`new_session`: a ``requests.Session``, optionally with bigger send blocks for part bodies; making
  one installs :func:`install_log_redaction` on urllib3's loggers (importing the package does not);
- the one mapping of failures to :mod:`~c2c_helpers.errors`: :func:`describe_exception` words a
  ``requests`` exception (no answer, timeout, stalled send), :func:`transport_error` makes it a
  :class:`~c2c_helpers.errors.TransportError`, and :func:`api_error_from_response` turns an API error answer
  into the matching :class:`~c2c_helpers.errors.APIError`. The client and the pairing functions both use them.

Examples
--------
>>> normalize_timeout(2)
(2.0, 2.0)
>>> describe_exception(requests.ConnectTimeout("boom"), (5.0, 35.0))
'could not connect within 5 s'
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from c2c_helpers._redact import redact
from c2c_helpers.errors import (
    APIError,
    AuthError,
    ChannelExists,
    ChannelPaused,
    InvalidArgument,
    PairingExpired,
    RateLimited,
    TransportError,
)

__all__ = [
    "CLIENT_VERSION",
    "CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "READ_TIMEOUT",
    "Timeout",
    "api_error_from_response",
    "describe_exception",
    "install_log_redaction",
    "json_answer",
    "new_session",
    "normalize_timeout",
    "post_form",
    "transport_error",
]

#: The ``x-client-version`` the guide sends.
CLIENT_VERSION = "2.0.0"
#: Seconds to wait for a TCP connection: a handshake that takes longer is not coming, and a camera should
#: notice a dead network quickly rather than queue behind it.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for the answer once the request is sent. Frame.io ends any request that runs past 30 s
#: with a 500, so waiting much longer only delays that error; 5 s more lets the 500 itself arrive.
READ_TIMEOUT = 35.0
#: ``(connect, read)`` timeouts used for every API call unless the client is given others.
DEFAULT_TIMEOUT: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)

Timeout = float | tuple[float, float]
"""A timeout as ``requests`` takes it: one number for both, or ``(connect, read)`` seconds."""

#: urllib3's loggers that print request URLs ("PUT /bucket/key?...X-Amz-Signature=... 200") at DEBUG.
URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.connection")
_install_lock = threading.Lock()


def normalize_timeout(timeout: Timeout) -> tuple[float, float]:
    """Return ``(connect, read)`` seconds from a number or a pair, refusing non-positive values.

    >>> normalize_timeout((1, 30))
    (1.0, 30.0)
    """
    pair = (timeout, timeout) if isinstance(timeout, int | float) else tuple(timeout)
    if len(pair) != 2:
        raise InvalidArgument(f"timeout must be a number or a (connect, read) pair, got {timeout!r}")
    connect, read = (float(x) for x in pair)
    if not (connect > 0 and read > 0 and math.isfinite(connect) and math.isfinite(read)):
        raise InvalidArgument(f"timeouts must be positive finite seconds, got {timeout!r}")
    return connect, read


# -- sessions --------------------------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message with :func:`~c2c_helpers._redact.redact` (URL signatures, tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_redaction() -> None:
    """Redact urllib3's DEBUG request lines (they carry each presigned URL whole); idempotent.

    Called by :func:`new_session` and by the part sender, so turning on DEBUG logging on a camera does not
    leak part URLs; importing the package changes no logger.
    """
    with _install_lock:
        for name in URL_LOGGERS:
            url_logger = logging.getLogger(name)
            if not any(isinstance(f, RedactingFilter) for f in url_logger.filters):
                url_logger.addFilter(RedactingFilter())


class _BlockAdapter(HTTPAdapter):
    """Sends request bodies `send_block` bytes at a time (urllib3 reads a file body 16 KiB at a time otherwise,
    which halves a part sender's top speed: one ``read`` and one ``sendall`` per 16 KiB)."""

    def __init__(self, send_block: int, **kwargs: Any) -> None:
        self._send_block = send_block
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs.setdefault("blocksize", self._send_block)
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


def new_session(*, connections: int | None = None, send_block: int | None = None) -> requests.Session:
    """A ``requests.Session`` with urllib3's URL logs redacted.

    Parameters
    ----------
    connections : int, optional
        Connections kept open per host (one per worker that shares the session); requests' default when omitted.
    send_block : int, optional
        Bytes sent per block of a streamed body; urllib3's 16 KiB when omitted.
    """
    install_log_redaction()
    session = requests.Session()
    if connections is not None or send_block is not None:
        kwargs: dict[str, Any] = {"pool_connections": 1, "pool_maxsize": max(1, connections or 1)}
        adapter = _BlockAdapter(send_block, **kwargs) if send_block is not None else HTTPAdapter(**kwargs)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def post_form(
    api_url: str,
    path: str,
    form: Mapping[str, str],
    *,
    session: requests.Session | None,
    timeout: Timeout,
    client_version: str,
    secrets: tuple[str | None, ...],
    multipart: bool = False,
    extra_headers: Mapping[str, str] | None = None,
    context: str | None = None,
) -> Any:
    """POST a form to an auth endpoint (``/v2/auth/*``) and return its JSON; failures as every call's."""
    context = context or f"POST {path}"
    headers = {"x-client-version": client_version, "Accept": "application/json", **(extra_headers or {})}
    seconds = normalize_timeout(timeout)
    kwargs: dict[str, Any] = {"headers": headers, "timeout": seconds}
    if multipart:
        kwargs["files"] = {k: (None, v) for k, v in form.items()}
    else:
        kwargs["data"] = dict(form)
    http = session if session is not None else new_session()
    try:
        response = http.post(api_url.rstrip("/") + path, **kwargs)
    except requests.RequestException as exc:
        raise transport_error(exc, context=context, where=api_url, timeout=seconds, secrets=secrets) from None
    finally:
        if session is None:
            http.close()
    if response.status_code >= 400:  # a 401 from an auth endpoint (a refresh): the device must be paired again
        hint = " (401: this authorization is gone; pair the device again)" if response.status_code == 401 else ""
        raise api_error_from_response(response, context=context + hint, secrets=secrets)
    try:
        return response.json() if response.content else {}  # revoke answers 200 with no body
    except ValueError:
        raise AuthError(f"{context}: {response.status_code} but the body is not JSON", response=response) from None


# -- failures -> errors ----------------------------------------------------------------------------------------


def describe_exception(exc: requests.RequestException, timeout: tuple[float, float]) -> str:
    """Say in a few words why a request got no answer (redacted: requests' messages carry the URL)."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect within {timeout[0]:g} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout[1]:g} s (read timeout)"
    if _caused_by_timeout(exc):
        # urllib3 applies the connect timeout to each send of the body: the receiver stopped reading
        return f"stalled while sending: no progress for {timeout[0]:g} s (send timeout)"
    detail = " ".join(redact(str(exc)).split())[:300]
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed or was closed before an answer ({type(exc).__name__}: {detail})"
    return f"request failed ({type(exc).__name__}: {detail})"


def _caused_by_timeout(exc: BaseException, depth: int = 0) -> bool:
    """Whether a socket timeout hides inside `exc` (requests wraps urllib3 wraps the socket's TimeoutError)."""
    if isinstance(exc, TimeoutError):
        return True
    if depth > 4:
        return False
    inner = [a for a in exc.args if isinstance(a, BaseException)] + [
        e for e in (exc.__cause__, exc.__context__) if e is not None
    ]
    return any(_caused_by_timeout(e, depth + 1) for e in inner)


def transport_error(
    exc: requests.RequestException,
    *,
    context: str,
    where: str,
    timeout: tuple[float, float],
    secrets: Iterable[str | None] = (),
    not_repeatable: str | None = None,
) -> TransportError:
    """The :class:`~c2c_helpers.errors.TransportError` for a request to `where` that got no answer.

    `not_repeatable` says why the caller will not send the request again (it marks the error not retryable).

    >>> transport_error(requests.ConnectTimeout(), context="GET /health", where="http://127.0.0.1:9",
    ...                 timeout=(5.0, 35.0)).message
    'GET /health: no answer from http://127.0.0.1:9: could not connect within 5 s'
    """
    message = f"{context}: no answer from {where}: {describe_exception(exc, timeout)}"
    if not_repeatable:
        return TransportError(f"{message}. Not retried: {not_repeatable}", retryable=False, secrets=secrets)
    return TransportError(message, secrets=secrets)


def api_error_from_response(
    response: requests.Response,
    *,
    context: str = "",
    secrets: Iterable[str | None] = (),
    not_repeatable: str | None = None,
) -> APIError:
    """Turn an error answer of the C2C API into the matching :class:`~c2c_helpers.errors.APIError` subclass.

    Understands both shapes (detailed ``{"code", "errors": [...]}`` and OAuth ``{"error": ...}``) and anything
    else (an HTML page from a proxy, say), whose first 200 characters, redacted, become the detail.

    Parameters
    ----------
    response : requests.Response
        An answer with a 4xx or 5xx status.
    context : str
        What was being done, e.g. ``"POST /v2/devices/assets"``; starts the message.
    secrets : iterable of str
        Literal values to scrub from the message (the client's token, say).
    not_repeatable : str, optional
        Why the caller will not repeat the request; a 5xx then says so and is not retryable.

    Returns
    -------
    APIError
        ``PairingExpired`` for OAuth ``expired_token``, ``AuthError`` for 401 and other OAuth errors,
        ``ChannelExists`` for 409 "Device channel already exists", ``ChannelPaused`` for another 409,
        ``RateLimited`` for 429, ``APIError`` otherwise; ``retryable`` is true for
        408, 429 and 5xx.
    """
    status = response.status_code
    code, title, detail, oauth = _error_fields(response)
    message = f"{context}: " if context else ""
    message += f"{status} {title}" + (f": {detail}" if detail else "")
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "title": title,
        "detail": detail,
        "response": response,
        "secrets": tuple(secrets),
    }
    if status == 429:
        retry_after = _retry_after_seconds(response)
        hint = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(message + hint, retry_after=retry_after, **kwargs)
    if oauth and code == "expired_token":
        return PairingExpired(f"{message}: the pairing code expired; request a new code", **kwargs)
    if status == 401 or oauth:
        return AuthError(message, **kwargs)
    if status == 409:
        return (ChannelExists if "already exists" in (detail or "") else ChannelPaused)(message, **kwargs)
    if status >= 500 and not_repeatable:
        return APIError(f"{message}. Not retried: {not_repeatable}", retryable=False, **kwargs)
    return APIError(message, retryable=status == 408 or status >= 500, **kwargs)


def json_answer(response: requests.Response, context: str) -> Any:
    """The JSON of a successful answer; an :class:`~c2c_helpers.errors.APIError` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise APIError(
            f"{context}: {response.status_code} but the body is not JSON: {redact(response.text[:120])!r}",
            status=response.status_code,
            response=response,
        ) from None


def _error_fields(response: requests.Response) -> tuple[str | int | None, str | None, str | None, bool]:
    """``(code, title, detail, is_oauth)`` from an error answer of either shape, or from its text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code: str | int | None = response.status_code
    title: str | None = response.reason or None
    if isinstance(body, Mapping):
        if isinstance(body.get("error"), str):
            description = body.get("error_description")
            return body["error"], body["error"], description if isinstance(description, str) else None, True
        errors = body.get("errors")
        first: Mapping[str, Any] = {}
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            first = errors[0]
        return (
            first.get("code", body.get("code", code)),
            first.get("title") or body.get("message") or title,
            (first.get("detail")),
            False,
        )
    detail = " ".join(response.text[:200].split()) if response.text else None
    return code, title, detail, False


def _retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds to wait from ``Retry-After`` (s) or ``x-ratelimit-window`` (ms), whichever is present."""
    for header, scale in (("Retry-After", 1.0), ("x-ratelimit-window", 1000.0)):
        value = response.headers.get(header)
        if value:
            try:
                return max(0.0, float(value) / scale)
            except ValueError:
                pass
    return None
