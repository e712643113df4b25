"""C2CClient: one HTTP session, the auth headers, timeouts, and the C2C API calls of the upload guide.

The client owns what every call shares: the API URL, the bearer token (and, optionally, what it takes to
renew it), the ``x-client-version`` header and connect/read timeouts. Its methods map one-to-one onto the
endpoints; errors come back as the typed exceptions of :mod:`c2c_helpers.errors`.

Part uploads do not go through this session: they go straight to S3 with a presigned URL and must never
carry the bearer token (see :mod:`c2c_helpers.parts`).

No call reads an asset back (C2C is "write, but don't read"); only a sandbox's :class:`SandboxControls`
(``controls``) can show the assembly. Beyond the upload: channels, the logging trigger, comments.

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
import os
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from c2c_helpers._http import (
    CLIENT_VERSION,
    DEFAULT_TIMEOUT,
    Timeout,
    api_error_from_response,
    json_answer,
    new_session,
    normalize_timeout,
    transport_error,
)
from c2c_helpers._redact import redact_url
from c2c_helpers.asset import Asset, SandboxControls
from c2c_helpers.chunks import MAX_PARTS
from c2c_helpers.errors import APIError, ConfigurationError, InvalidArgument, RateLimited, check_int
from c2c_helpers.retry import CREATE_LIMIT, CREATE_WINDOW, TokenBucket, rate_limit_wait
from c2c_helpers.tokens import Credentials, Tokens

__all__ = ["CREATE_NOT_REPEATABLE", "RATE_LIMIT_RETRIES", "C2CClient", "SandboxControls", "asset_body"]

logger = logging.getLogger("c2c_helpers")

#: How many times ``create_asset`` waits and repeats after a 429 (5 creates per second: a full bucket drains
#: in a window, so a few waits absorb one device's burst; more would hide many devices sharing a token).
RATE_LIMIT_RETRIES = 5
#: Why the asset-create POST is never repeated after a 5xx or no answer.
CREATE_NOT_REPEATABLE = (
    "the service may have created the asset anyway and a second POST could duplicate it; look in the device "
    "folder before creating it again"
)
#: An SMPTE timecode, ``HH:MM:SS:FF`` (``;`` before the frames: drop-frame), as the logging trigger takes it.
SMPTE = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d([:;])(\d\d)")


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
        Called with the new :class:`~c2c_helpers.tokens.Tokens` after every refresh.
    rate_limit_retries : int
        How many times ``create_asset`` waits and repeats after a 429. Threads creating through one client
        share its ``create_budget`` (5 per second, or the pace the service's ``x-ratelimit-*`` headers give),
        so they wait their turn rather than meet 429s.
    controls : SandboxControls, optional
        The controls of the sandbox this client talks to, when it talks to one (:func:`c2c_helpers.connect`
        sets them). Only with them can :func:`~c2c_helpers.upload.upload_file` wait for the assembly: a real
        device cannot see it.

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
        controls: SandboxControls | None = None,
    ) -> None:
        api_url = api_url or os.environ.get("C2C_API_URL") or None
        token = token or os.environ.get("C2C_ACCESS_TOKEN") or None
        if not api_url or not token:  # one of the two, or both: "no C2C API URL and no access token: ..."
            missing = [what for what, value in (("C2C API URL", api_url), ("access token", token)) if not value]
            raise ConfigurationError(
                f"no {' and no '.join(missing)}: pass api_url and token, or set C2C_API_URL (https://api.frame.io "
                "for the real service) and C2C_ACCESS_TOKEN, or call c2c_helpers.connect() for the embedded sandbox"
            )
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"the C2C API URL must be an http(s) URL such as https://api.frame.io, got {redact_url(api_url)!r}"
            )
        if isinstance(rate_limit_retries, bool) or not isinstance(rate_limit_retries, int) or rate_limit_retries < 0:
            raise InvalidArgument("rate_limit_retries must be a non-negative int")
        self.api_url = api_url.rstrip("/")
        self.client_version = client_version
        self.timeout = normalize_timeout(timeout)
        self.rate_limit_retries = rate_limit_retries
        #: The asset-create budget every thread using this client shares (5 per second until the service's
        #: ``x-ratelimit-*`` headers say otherwise): see :mod:`c2c_helpers.retry`.
        self.create_budget = TokenBucket(CREATE_LIMIT, CREATE_WINDOW)
        self.on_tokens = on_tokens
        self.controls = controls
        #: What ``/v2/devices/me`` said after the last grant or refresh (the status guide asks for that call).
        self.device: dict[str, Any] | None = None
        self._credentials = Credentials(token, refresh_token, client_id, client_secret)
        self._owns_session = session is None
        self.session = session if session is not None else new_session()

    @property
    def token(self) -> str:
        """The current access token (changes after a refresh). Never shown in reprs or messages."""
        return self._credentials.access_token

    @property
    def can_refresh(self) -> bool:
        """Whether the client holds a refresh token and the client credentials to use it."""
        return self._credentials.can_refresh

    def _secrets(self) -> tuple[str | None, ...]:
        return self._credentials.secrets()

    def __repr__(self) -> str:
        return (
            f"C2CClient(api_url={self.api_url!r}, client_version={self.client_version!r}, token=<redacted>, "
            f"can_refresh={self.can_refresh})"
        )

    def close(self) -> None:
        """Close the session if the client created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> C2CClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- HTTP --------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        expected: tuple[int, ...] = (200,),
        context: str | None = None,
        not_repeatable: str | None = None,
    ) -> requests.Response:
        """Send one authenticated API call (``"GET"``, ``"/v2/devices/me"``) and return the answer.

        A status outside `expected` raises its typed :class:`~c2c_helpers.errors.APIError` (``AuthError``,
        ``ChannelPaused``, ``RateLimited``...), no answer a :class:`~c2c_helpers.errors.TransportError`; a 401
        is answered by one renewal and one repeat when the client can refresh. `context` names the call in
        messages (``"METHOD path"`` by default). `not_repeatable` says why the call must not be repeated blindly
        (it may have taken effect): no answer or a 5xx then raises an error that says so and is not retryable.
        """
        context = context or f"{method} {path}"
        url = self.api_url + path
        refreshed = False
        while True:
            token = self._credentials.access_token
            headers = {"Authorization": f"Bearer {token}", "x-client-version": self.client_version}
            headers["Accept"] = "application/json"
            started = time.monotonic()
            try:
                response = self.session.request(method, url, json=json, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                raise transport_error(
                    exc,
                    context=context,
                    where=self.api_url,
                    timeout=self.timeout,
                    secrets=self._secrets(),
                    not_repeatable=not_repeatable,
                ) from None
            logger.debug("%s -> %s in %.3f s", context, response.status_code, time.monotonic() - started)
            if response.status_code in expected:
                return response
            if response.status_code == 401 and not refreshed and self.can_refresh:
                refreshed = True
                self._renew(stale=token)
                continue
            error = api_error_from_response(
                response, context=context, secrets=self._secrets(), not_repeatable=not_repeatable
            )
            if response.status_code == 401 and not self.can_refresh:
                error.add_note(
                    "the access token is invalid or expired and this client cannot renew it "
                    "(give it refresh_token, client_id and client_secret, or pair again)"
                )
            raise error

    def refresh(self) -> Tokens:
        """Renew the access token with the refresh token (which rotates: the old one stops working), then ask
        ``/v2/devices/me`` (:attr:`device`). Returns the new :class:`~c2c_helpers.tokens.Tokens` (also given to
        ``on_tokens``); :class:`~c2c_helpers.errors.AuthError` without refresh credentials, or if refused."""
        tokens = self._renew(stale=None)
        assert tokens is not None  # only a stale token can be skipped
        return tokens

    def _renew(self, *, stale: str | None) -> Tokens | None:
        tokens = self._credentials.renew(
            self.api_url,
            stale=stale,
            on_tokens=self.on_tokens,
            session=self.session,
            timeout=self.timeout,
            client_version=self.client_version,
        )
        # the status guide: GET /v2/devices/me after every refresh (a 401 here is no reason to refresh again)
        if tokens is not None and (answer := self.request("GET", "/v2/devices/me", expected=(200, 401))).ok:
            self.device = json_answer(answer, "GET /v2/devices/me")
        return tokens

    # -- the API -----------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /health``: ``{"status": "ok"}`` when the service is up."""
        return json_answer(self.request("GET", "/health"), "GET /health")  # type: ignore[no-any-return]

    def me(self) -> dict[str, Any]:
        """``GET /v2/devices/me``: this device, a ``project_device``: ``id``, ``name``, ``status`` (online,
        offline), ``authorization`` (``expires_at``, ``scopes``: ``asset_read`` always false), ``channels``..."""
        return json_answer(self.request("GET", "/v2/devices/me"), "GET /v2/devices/me")  # type: ignore[no-any-return]

    def heartbeat(self) -> None:
        """``POST /v2/devices/heartbeat``: tell the service the device is online (at most once a minute)."""
        self.request("POST", "/v2/devices/heartbeat", expected=(200, 204))

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One device call: its JSON answer, ``{}`` for a 204."""
        response = self.request("POST", path, json=body, expected=(200, 204))
        return dict(json_answer(response, f"POST {path}")) if response.status_code == 200 else {}

    def connect_channel(self, client_id: str, device_model_id: str) -> dict[str, Any]:
        """``POST /v2/devices/channels`` (two UUIDs): a ``project_device_channel``; ``ChannelExists`` if connected."""
        return self._post("/v2/devices/channels", {"client_id": client_id, "device_model_id": device_model_id})

    def disconnect_channel(self, channel_id: str | None = None) -> dict[str, Any]:
        """``POST /v2/devices/channels/{id}/disconnect``, or with no id ``.../disconnect`` (all); both 204: ``{}``."""
        return self._post(f"/v2/devices/channels/{quote(channel_id, safe='') + '/' if channel_id else ''}disconnect")

    def trigger_input(self, channel_id: str, input_index: int, start: str, duration: str = "00:00:00:01", *,
                      offset: int = 0, rate: tuple[int, int] = (24000, 1001)) -> dict[str, Any]:  # fmt: skip
        """``POST /v2/devices/channels/{id}/inputs/{index}/trigger``: input (button) `input_index` pressed at SMPTE
        `start` (``HH:MM:SS:FF``, frames under `rate`'s whole fps) for `duration`; checked before it is sent."""
        for name, value in (("input_index", input_index), ("offset", offset)):
            check_int(name, value, minimum=0)
        times = {"start": _smpte("start", start, rate), "duration": _smpte("duration", duration, rate)}
        path = f"/v2/devices/channels/{quote(channel_id, safe='')}/inputs/{input_index}/trigger"
        return self._post(path, {"action_type": "single_press", "offset": offset, **times})

    def comment(self, asset_id: str, text: str, timestamp: int | None = None) -> dict[str, Any]:
        """``POST /v2/devices/assets/{id}/comments``: `text` at frame `timestamp` (from 0), or on the whole asset."""
        check_int("timestamp", 0 if timestamp is None else timestamp, minimum=0)
        body = {"text": text} | ({} if timestamp is None else {"timestamp": timestamp})
        return self._post(f"/v2/devices/assets/{quote(asset_id, safe='')}/comments", body)

    def create_asset(
        self,
        name: str,
        filetype: str | None,
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
        filetype : str or None
            MIME type, e.g. ``"video/mp4"``; every part must be sent with the answer's ``filetype`` as
            ``Content-Type``. None leaves it out (optional for a basic upload: the service decides).
        filesize, offset : int
            Size in bytes (at least 1); seconds since the file was created (refused if made while paused).
        parts, channel : int, optional
            How many upload URLs to ask for (1..10,000; the service chooses when omitted); the channel (0).

        Raises
        ------
        InvalidArgument
            (a ValueError) For arguments the service would refuse anyway (checked before sending).
        ChannelPaused
            409: the file was created while the device or channel was paused.
        RateLimited
            429 still, after ``rate_limit_retries`` waits (a 429 was not processed: waiting is safe).
        APIError, TransportError
            Any other error, or no answer; neither is retried (the asset may exist: a second POST duplicates).
        """
        body = asset_body(name, filetype, filesize, offset, parts=parts, channel=channel)
        response = self.send_create(body, "create asset (POST /v2/devices/assets)")
        data = json_answer(response, "create asset")
        try:
            return Asset.from_json(data)
        except (ValueError, TypeError) as exc:  # a 200 that is not an asset (a proxy's page, say)
            raise APIError(
                f"create asset: unexpected answer ({exc})", status=response.status_code, response=response
            ) from None

    def send_create(self, body: dict[str, Any], context: str) -> requests.Response:
        """``POST /v2/devices/assets`` with `body` through the create budget: the one create path of basic and
        real-time uploads.

        Every thread creating through this client shares its ``create_budget``; a 429 (not processed: waiting
        is safe) holds them all back and is repeated up to ``rate_limit_retries`` times; every answer's
        ``x-ratelimit-*`` headers set the budget's pace. Never repeated after a 5xx or no answer: the service
        may have created the asset anyway.
        """
        for attempt in range(self.rate_limit_retries + 1):
            self.create_budget.take()  # shared by every thread creating through this client
            try:
                response = self.request(
                    "POST", "/v2/devices/assets", json=body, context=context, not_repeatable=CREATE_NOT_REPEATABLE
                )
            except RateLimited as err:  # a 429 was not processed: waiting and repeating is safe
                if err.response is not None:
                    self.create_budget.observe(err.response.headers)
                if attempt == self.rate_limit_retries:
                    raise
                wait = rate_limit_wait(err.retry_after, attempt)
                logger.info("%s rate limited (429): waiting %.2f s, then retrying", context, wait)
                self.create_budget.hold(wait)  # every thread waits it out, not only this one
                continue
            self.create_budget.observe(response.headers)
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def asset_body(
    name: str, filetype: str | None, filesize: int, offset: int, *, parts: int | None, channel: int | None
) -> dict[str, Any]:
    """The JSON body of ``POST /v2/devices/assets``, refusing what the service would refuse anyway.

    `filetype` None leaves it out: optional for a basic upload (the service then decides it; the answer's
    ``filetype`` is what every part must be sent with).

    >>> asset_body("clip.mp4", "video/mp4", 21136250, 10, parts=None, channel=None)
    {'name': 'clip.mp4', 'filetype': 'video/mp4', 'filesize': 21136250, 'offset': 10}
    >>> asset_body("clip.mp4", None, 21136250, 10, parts=None, channel=None)
    {'name': 'clip.mp4', 'filesize': 21136250, 'offset': 10}
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument("name must be a non-empty string (the asset's display name)")
    if filetype is not None and (not isinstance(filetype, str) or "/" not in filetype):
        raise InvalidArgument(f"filetype must be a MIME type such as 'video/mp4', got {filetype!r}")
    check_int("filesize", filesize, minimum=1)
    check_int("offset", offset, minimum=0)
    body: dict[str, Any] = {"name": name, "filetype": filetype, "filesize": filesize, "offset": offset}
    if filetype is None:
        del body["filetype"]
    if parts is not None:
        check_int("parts", parts, minimum=1, maximum=MAX_PARTS)
        body["parts"] = parts
    if channel is not None:
        check_int("channel", channel, minimum=0)
        body["channel"] = channel
    return body


def _smpte(name: str, value: object, rate: tuple[int, int]) -> dict[str, Any]:
    """An SMPTE time as the trigger takes it: ``HH:MM:SS:FF``, hours under 24, frames under the rate's fps."""
    fps = round(rate[0] / rate[1]) if len(rate) == 2 and all(isinstance(n, int) and n > 0 for n in rate) else 0
    if not fps or not (match := SMPTE.fullmatch(str(value))) or int(match[3]) >= fps:
        raise InvalidArgument(f"{name} must be an SMPTE timecode HH:MM:SS:FF, frames under {fps}, got {value!r}")
    ntsc = ("drop" if match[2] == ";" else "non_drop") if rate[1] == 1001 else None
    return {"smpte_timecode": value, "rate": {"playback": list(rate), "ntsc": ntsc}}
