"""C2CClient: one HTTP session, the auth headers, timeouts, and the C2C API calls of the upload guide.

The client owns what every call shares: the API URL, the bearer token (and, optionally, what it takes to
renew it), the ``x-client-version`` header and connect/read timeouts. Its methods map one-to-one onto the
endpoints; errors come back as the typed exceptions of :mod:`c2c_helpers.errors`.

Part uploads do not go through this session: they go straight to S3 with a presigned URL and must never
carry the bearer token (see :mod:`c2c_helpers.upload`).

Examples
--------
>>> client = C2CClient("http://127.0.0.1:8080", "a-token-that-will-not-show")
>>> client
C2CClient(api_url='http://127.0.0.1:8080', client_version='2.0.0', token=<redacted>, can_refresh=False)
>>> client.timeout
(5.0, 35.0)
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests

from c2c_helpers.errors import (
    APIError,
    AssetIncomplete,
    AuthError,
    ConfigurationError,
    RateLimited,
    TransportError,
    api_error_from_response,
    redact,
    redact_url,
)

if TYPE_CHECKING:
    from c2c_helpers.auth import DeviceCode, Tokens

__all__ = [
    "CLIENT_VERSION",
    "CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "READ_TIMEOUT",
    "Asset",
    "C2CClient",
    "Timeout",
]

logger = logging.getLogger("c2c_helpers")

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
#: How many times ``create_asset`` waits and repeats after a 429. Asset create allows 5 requests per second;
#: a 429 means the bucket is full and one window later it has drained, so a few waits absorb any burst a
#: single device makes. More would hide a real problem (many devices sharing a token) behind long stalls.
RATE_LIMIT_RETRIES = 5
#: Longest wait after a 429, however the backoff grows.
RATE_LIMIT_MAX_WAIT = 30.0
#: First and longest pause between polls of ``wait_until_complete``: assembly usually takes well under a
#: second after the last part, so start fast and back off to once a second for big files.
POLL_FIRST, POLL_MAX = 0.05, 1.0
#: Default seconds ``wait_until_complete`` waits for the service to assemble the parts.
WAIT_TIMEOUT = 120.0

Timeout = float | tuple[float, float]
"""A timeout as ``requests`` takes it: one number for both, or ``(connect, read)`` seconds."""


@dataclass(frozen=True, repr=False)
class Asset:
    """A C2C asset as the API returned it.

    The fields the kit uses are attributes; everything else is in ``raw``, the JSON exactly as received.
    The repr hides the presigned ``upload_urls`` (each carries a signature).

    Parameters
    ----------
    id : str
        The asset id (a UUID).
    name : str
        Display name in Frame.io.
    filetype : str or None
        MIME type; every part PUT must send it as ``Content-Type``.
    filesize : int or None
        Size in bytes.
    upload_urls : tuple of str
        Presigned PUT URLs, in part order (empty when the answer had none, e.g. from ``get_asset``).
    status : str or None
        ``"created"`` until the upload is assembled, then ``"complete"`` (or ``"failed"``).
    upload_completed_at : str or None
        When the service assembled the parts; ``None`` while uploading.
    raw : dict
        The whole JSON answer.

    Examples
    --------
    >>> a = Asset.from_json({"id": "9a28", "name": "C2C_TEST_CLIP.mp4", "filetype": "video/mp4",
    ...                      "filesize": 21136250, "status": "created", "upload_completed_at": None,
    ...                      "upload_urls": ["https://s3.example/k?partNumber=1&X-Amz-Signature=s1",
    ...                                      "https://s3.example/k?partNumber=2&X-Amz-Signature=s2"]})
    >>> a
    Asset(id='9a28', name='C2C_TEST_CLIP.mp4', filetype='video/mp4', filesize=21136250, status='created', upload_urls=<2 presigned URLs>, upload_completed_at=None)
    >>> a.is_complete
    False
    >>> a.redacted_json()["upload_urls"][0]
    'https://s3.example/k?partNumber=1&<signature redacted>'
    """  # noqa: E501

    id: str
    name: str
    filetype: str | None
    filesize: int | None
    upload_urls: tuple[str, ...]
    status: str | None
    upload_completed_at: str | None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Asset:
        """Build an :class:`Asset` from the API's JSON (numbers may arrive as strings)."""
        if not isinstance(data, Mapping) or not data.get("id"):
            raise ValueError("not an asset: the JSON has no 'id'")
        filesize = data.get("filesize")
        urls = data.get("upload_urls") or ()
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            filetype=data.get("filetype"),
            filesize=int(filesize) if filesize is not None else None,
            upload_urls=tuple(str(u) for u in urls),
            status=data.get("status"),
            upload_completed_at=data.get("upload_completed_at"),
            raw=dict(data),
        )

    @property
    def is_complete(self) -> bool:
        """Whether the service has assembled the upload (``upload_completed_at`` is set and not failed)."""
        return bool(self.upload_completed_at) and self.status != "failed"

    def redacted_json(self) -> dict[str, Any]:
        """Return ``raw`` with every presigned URL's signature removed, safe to print."""
        out = dict(self.raw)
        if "upload_urls" in out and isinstance(out["upload_urls"], list):
            out["upload_urls"] = [redact_url(str(u)) for u in out["upload_urls"]]
        return out

    def __repr__(self) -> str:
        n = len(self.upload_urls)
        urls = f"<{n} presigned URL{'' if n == 1 else 's'}>" if n else "()"
        return (
            f"Asset(id={self.id!r}, name={self.name!r}, filetype={self.filetype!r}, filesize={self.filesize!r}, "
            f"status={self.status!r}, upload_urls={urls}, "
            f"upload_completed_at={self.upload_completed_at!r})"
        )


class C2CClient:
    """A client for Frame.io's C2C API (or the kit's sandbox, which answers the same way).

    Parameters
    ----------
    api_url : str, optional
        Base URL, e.g. ``https://api.frame.io``. Defaults to the ``C2C_API_URL`` environment variable.
    token : str, optional
        Access token. Defaults to ``C2C_ACCESS_TOKEN``.
    client_version : str
        Sent as ``x-client-version`` on every call.
    session : requests.Session, optional
        Session to send API calls with (to add adapters, proxies, or test hooks). The client never changes
        its headers; it only closes the session it created itself.
    timeout : float or (float, float)
        Connect and read timeouts in seconds for every call.
    refresh_token, client_id, client_secret : str, optional
        With all three, a 401 makes the client renew its tokens once and repeat the call. Refresh tokens are
        single-use: pass `on_tokens` to store the new pair.
    on_tokens : callable, optional
        Called with the new :class:`~c2c_helpers.auth.Tokens` after every refresh.
    rate_limit_retries : int
        How many times ``create_asset`` waits and repeats after a 429.

    Raises
    ------
    ConfigurationError
        If no API URL or no token was given or found in the environment.

    Examples
    --------
    >>> C2CClient("ftp://files.example", "x" * 20)
    Traceback (most recent call last):
    ...
    c2c_helpers.errors.ConfigurationError: the C2C API URL must be an http(s) URL such as https://api.frame.io, got 'ftp://files.example'
    """

    def __init__(
        self,
        api_url: str | None = None,
        token: str | None = None,
        *,
        client_version: str = CLIENT_VERSION,
        session: requests.Session | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        on_tokens: Callable[[Tokens], None] | None = None,
        rate_limit_retries: int = RATE_LIMIT_RETRIES,
    ) -> None:
        api_url = api_url or os.environ.get("C2C_API_URL") or None
        token = token or os.environ.get("C2C_ACCESS_TOKEN") or None
        hint = "or call c2c_helpers.connect() to get a client for the embedded sandbox"
        if not api_url and not token:
            raise ConfigurationError(
                "no C2C API URL and no access token: pass api_url and token, or set C2C_API_URL and "
                f"C2C_ACCESS_TOKEN, {hint}"
            )
        if not api_url:
            raise ConfigurationError(
                "no C2C API URL: pass api_url or set C2C_API_URL (https://api.frame.io for the real service), " + hint
            )
        if not token:
            raise ConfigurationError(f"no access token: pass the token argument or set C2C_ACCESS_TOKEN, {hint}")
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"the C2C API URL must be an http(s) URL such as https://api.frame.io, got {redact_url(api_url)!r}"
            )
        if not isinstance(rate_limit_retries, int) or rate_limit_retries < 0:
            raise ValueError("rate_limit_retries must be a non-negative int")
        self.api_url = api_url.rstrip("/")
        self.client_version = client_version
        self.timeout = normalize_timeout(timeout)
        self.rate_limit_retries = rate_limit_retries
        self.on_tokens = on_tokens
        self._token = token
        self._refresh_token = refresh_token
        self._client_id = client_id
        self._client_secret = client_secret
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self._refresh_lock = threading.Lock()

    # -- construction helpers -------------------------------------------------------------------------

    @classmethod
    def pair(
        cls,
        api_url: str,
        client_id: str,
        client_secret: str,
        *,
        show_code: Callable[[DeviceCode], None] | None = None,
        client_version: str = CLIENT_VERSION,
        timeout: Timeout = DEFAULT_TIMEOUT,
        on_tokens: Callable[[Tokens], None] | None = None,
    ) -> C2CClient:
        """Pair a device with the device-code flow and return a client that can renew its own tokens.

        See :func:`c2c_helpers.auth.pair_device`; `show_code` is called with the code to show the person.
        """
        from c2c_helpers.auth import pair_device  # auth builds on this module

        tokens = pair_device(
            api_url,
            client_id,
            client_secret,
            show_code=show_code,
            client_version=client_version,
            timeout=timeout,
        )
        if on_tokens is not None:
            on_tokens(tokens)
        return cls(
            api_url,
            tokens.access_token,
            client_version=client_version,
            timeout=timeout,
            refresh_token=tokens.refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            on_tokens=on_tokens,
        )

    # -- properties --------------------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The current access token (changes after a refresh). Never shown in reprs or messages."""
        return self._token

    @property
    def can_refresh(self) -> bool:
        """Whether the client holds a refresh token and the client credentials to use it."""
        return bool(self._refresh_token and self._client_id and self._client_secret)

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._token, self._refresh_token, self._client_secret)

    def __repr__(self) -> str:
        return (
            f"C2CClient(api_url={self.api_url!r}, client_version={self.client_version!r}, token=<redacted>, "
            f"can_refresh={self.can_refresh})"
        )

    # -- lifecycle --------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the session if the client created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> C2CClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- HTTP --------------------------------------------------------------------------------------------

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "x-client-version": self.client_version,
            "Accept": "application/json",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        expected: tuple[int, ...] = (200,),
        context: str | None = None,
    ) -> requests.Response:
        """Send one authenticated API call and return the answer, or raise its typed error.

        A 401 is answered by one refresh and one repeat when the client can refresh.

        Parameters
        ----------
        method, path : str
            E.g. ``"GET"``, ``"/v2/devices/me"``.
        json : optional
            A JSON body.
        expected : tuple of int
            Statuses that count as success.
        context : str, optional
            Names the call in error messages; defaults to ``"METHOD path"``.

        Returns
        -------
        requests.Response

        Raises
        ------
        TransportError
            No answer (connection error or timeout).
        APIError
            An error status (``AuthError``, ``ChannelPaused``, ``RateLimited``, ...).
        """
        context = context or f"{method} {path}"
        url = self.api_url + path
        refreshed = False
        while True:
            token = self._token
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, json=json, headers=self._headers(token), timeout=self.timeout
                )
            except requests.Timeout as exc:
                raise TransportError(
                    f"{context}: no answer from {self.api_url} within the timeout {self.timeout} "
                    f"({type(exc).__name__})",
                    secrets=self._secrets(),
                ) from None
            except requests.RequestException as exc:
                raise TransportError(
                    f"{context}: could not reach {self.api_url} ({type(exc).__name__}: {exc})",
                    secrets=self._secrets(),
                ) from None
            logger.debug("%s -> %s in %.3f s", context, response.status_code, time.monotonic() - started)
            if response.status_code in expected:
                return response
            if response.status_code == 401 and not refreshed and self.can_refresh:
                refreshed = True
                self._refresh_after_401(token)
                continue
            error = api_error_from_response(response, context=context, secrets=self._secrets())
            if response.status_code == 401 and not self.can_refresh:
                error.add_note(
                    "the access token is invalid or expired and this client cannot renew it "
                    "(give it refresh_token, client_id and client_secret, or pair again)"
                )
            raise error

    def _refresh_after_401(self, token_used: str) -> None:
        with self._refresh_lock:
            if self._token != token_used:
                return  # another thread renewed while we waited: just repeat with the new token
            logger.info("access token refused (401): renewing it with the refresh token")
            self.refresh()

    def refresh(self) -> Tokens:
        """Renew the access token with the refresh token (which rotates: the old one stops working).

        Returns
        -------
        Tokens
            The new pair; also passed to ``on_tokens``.

        Raises
        ------
        AuthError
            If the client holds no refresh token and client credentials, or the service refused them.
        """
        from c2c_helpers.auth import refresh_tokens  # auth builds on this module

        if not self.can_refresh:
            raise AuthError("cannot refresh: this client was not given refresh_token, client_id and client_secret")
        assert self._refresh_token and self._client_id and self._client_secret
        tokens = refresh_tokens(
            self.api_url,
            self._refresh_token,
            self._client_id,
            self._client_secret,
            session=self.session,
            timeout=self.timeout,
            client_version=self.client_version,
        )
        self._token = tokens.access_token
        self._refresh_token = tokens.refresh_token or self._refresh_token
        if self.on_tokens is not None:
            self.on_tokens(tokens)
        return tokens

    # -- the API -----------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /health``: ``{"status": "ok"}`` when the service is up."""
        return _json(self.request("GET", "/health"), "GET /health")

    def me(self) -> dict[str, Any]:
        """``GET /v2/devices/me``: this device (``id``, ``name``, ``project_id``, ``status``, ``channels``...)."""
        return _json(self.request("GET", "/v2/devices/me"), "GET /v2/devices/me")

    def heartbeat(self) -> None:
        """``POST /v2/devices/heartbeat``: tell the service the device is online (at most once a minute)."""
        self.request("POST", "/v2/devices/heartbeat", expected=(200, 204))

    def create_asset(
        self,
        name: str,
        filetype: str,
        filesize: int,
        offset: int,
        *,
        parts: int | None = None,
        channel: int | None = None,
    ) -> Asset:
        """``POST /v2/devices/assets``: create the placeholder asset and get its upload URLs.

        Parameters
        ----------
        name : str
            Display name in Frame.io (need not match the file name).
        filetype : str
            MIME type, e.g. ``"video/mp4"``; every part must be sent with it as ``Content-Type``.
        filesize : int
            Size in bytes, at least 1.
        offset : int
            Seconds since the file was created; the service refuses files created while paused.
        parts : int, optional
            How many upload URLs to ask for (1..10,000); the service chooses when omitted.
        channel : int, optional
            Channel index (the service's default is 0).

        Returns
        -------
        Asset

        Raises
        ------
        ValueError
            For arguments the service would refuse anyway (checked before sending).
        ChannelPaused
            409: the file was created while the device or channel was paused.
        RateLimited
            429 still, after ``rate_limit_retries`` waits.
        APIError
            Any other error. A 5xx is **not** retried: the service may have created the asset before it
            failed, and a second POST would make a duplicate.
        TransportError
            No answer; likewise not retried.
        """
        body = _asset_body(name, filetype, filesize, offset, parts, channel)
        context = "create asset (POST /v2/devices/assets)"
        for attempt in range(self.rate_limit_retries + 1):
            try:
                response = self.request("POST", "/v2/devices/assets", json=body, context=context)
            except RateLimited as err:
                if attempt == self.rate_limit_retries:
                    raise
                wait = _rate_limit_wait(err.retry_after, attempt)
                logger.info("create asset rate limited (429): waiting %.2f s, then retrying", wait)
                time.sleep(wait)
                continue
            except TransportError as err:
                raise TransportError(
                    f"{err.message}. Not retried: the service may have created the asset anyway and a second "
                    "POST could duplicate it; look in the device folder before creating it again",
                    retryable=False,
                ) from None
            except APIError as err:
                if err.status is not None and err.status >= 500:
                    raise APIError(
                        f"{err.message}. Not retried: the service may have created the asset before failing and "
                        "a second POST could duplicate it; look in the device folder before creating it again",
                        status=err.status,
                        code=err.code,
                        title=err.title,
                        detail=err.detail,
                        response=err.response,
                        retryable=False,
                    ) from None
                raise
            return _asset(response, context)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_asset(self, asset_id: str | Asset) -> Asset:
        """``GET /v2/assets/{id}``: the asset's current state (``upload_completed_at`` once assembled)."""
        asset_id = asset_id.id if isinstance(asset_id, Asset) else asset_id
        if not asset_id or not isinstance(asset_id, str):
            raise ValueError("asset_id must be a non-empty string")
        path = f"/v2/assets/{quote(asset_id, safe='')}"
        return _asset(self.request("GET", path), f"GET {path}")

    def wait_until_complete(
        self,
        asset_id: str | Asset,
        timeout: float = WAIT_TIMEOUT,
    ) -> Asset:
        """Poll the asset until the service reports the upload assembled.

        There is no "complete" call in C2C: the service assembles the file once every part is there.

        Parameters
        ----------
        asset_id : str or Asset
            The asset to watch.
        timeout : float
            Seconds to keep polling.

        Returns
        -------
        Asset
            The asset with ``upload_completed_at`` set.

        Raises
        ------
        AssetIncomplete
            If the service reports the asset failed, or `timeout` passes first.
        """
        asset_id = asset_id.id if isinstance(asset_id, Asset) else asset_id
        deadline = time.monotonic() + timeout
        pause = POLL_FIRST
        while True:
            asset = self.get_asset(asset_id)
            if asset.status == "failed":
                raise AssetIncomplete(
                    f"asset {asset.id}: the service reports the upload failed (status 'failed')", asset=asset
                )
            if asset.upload_completed_at:
                return asset
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssetIncomplete(
                    f"asset {asset.id}: not complete after {timeout:g} s (status {asset.status!r}); "
                    "a part may be missing",
                    asset=asset,
                )
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, POLL_MAX)


def normalize_timeout(timeout: Timeout) -> tuple[float, float]:
    """Return ``(connect, read)`` seconds from a number or a pair, refusing non-positive values.

    >>> normalize_timeout(2)
    (2.0, 2.0)
    >>> normalize_timeout((1, 30))
    (1.0, 30.0)
    """
    pair = (timeout, timeout) if isinstance(timeout, int | float) else tuple(timeout)
    if len(pair) != 2:
        raise ValueError(f"timeout must be a number or a (connect, read) pair, got {timeout!r}")
    connect, read = (float(x) for x in pair)
    if not (connect > 0 and read > 0 and math.isfinite(connect) and math.isfinite(read)):
        raise ValueError(f"timeouts must be positive finite seconds, got {timeout!r}")
    return connect, read


def _asset_body(
    name: str, filetype: str, filesize: int, offset: int, parts: int | None, channel: int | None
) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty string (the asset's display name)")
    if not isinstance(filetype, str) or "/" not in filetype:
        raise ValueError(f"filetype must be a MIME type such as 'video/mp4', got {filetype!r}")
    _check_int("filesize", filesize, minimum=1)
    _check_int("offset", offset, minimum=0)
    body: dict[str, Any] = {"name": name, "filetype": filetype, "filesize": filesize, "offset": offset}
    if parts is not None:
        _check_int("parts", parts, minimum=1, maximum=10_000)
        body["parts"] = parts
    if channel is not None:
        _check_int("channel", channel, minimum=0)
        body["channel"] = channel
    return body


def _check_int(name: str, value: object, *, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"{name} must be {bound}, got {value}")


def _rate_limit_wait(retry_after: float | None, attempt: int) -> float:
    """Wait the advertised window, doubling per repeated 429, plus up to 10 % jitter."""
    base = retry_after if retry_after and retry_after > 0 else 1.0
    wait = min(RATE_LIMIT_MAX_WAIT, base * 2**attempt)
    return wait + random.uniform(0, wait / 10)


def _json(response: requests.Response, context: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise APIError(
            f"{context}: {response.status_code} but the body is not JSON: {redact(response.text[:120])!r}",
            status=response.status_code,
            response=response,
        ) from None


def _asset(response: requests.Response, context: str) -> Asset:
    data = _json(response, context)
    try:
        return Asset.from_json(data)
    except (ValueError, TypeError) as exc:
        raise APIError(
            f"{context}: unexpected answer ({exc})", status=response.status_code, response=response
        ) from None
