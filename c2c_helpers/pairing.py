"""Pairing a device: the OAuth 2.0 device authorization grant (RFC 8628).

The flow a camera follows, as in RFC 8628:

1. :func:`request_device_code` asks for a device code and a six-digit ``user_code``;
2. the device shows the code (your `show_code` callback) and a person enters it in Frame.io;
3. :func:`poll_for_tokens` asks for tokens every ``interval`` seconds until the person approved, adding 5 s
   whenever the service says ``slow_down``, and gives up with :class:`~c2c_helpers.errors.PairingExpired`
   when the code expires.

:func:`pair_device` does all three and returns :class:`~c2c_helpers.tokens.Tokens`; :func:`pair_client` returns a
:class:`~c2c_helpers.client.C2CClient` that holds them (and renews them itself); :func:`revoke_token` gives them
back (un-pairing). Renewing tokens is :mod:`c2c_helpers.tokens`' job. Nothing in the upload path imports this
module: a device pairs once, then uploads.

Code values never appear in reprs or error messages.

Examples
--------
>>> DeviceCode(device_code="dc-secret", user_code="123456", expires_in=120, interval=5)
DeviceCode(user_code='123456', expires_in=120, interval=5, verification_uri=None, device_code=<redacted>)
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from c2c_helpers._http import CLIENT_VERSION, DEFAULT_TIMEOUT, Timeout, post_form
from c2c_helpers.client import C2CClient, SandboxControls
from c2c_helpers.errors import AuthError, InvalidArgument, PairingExpired
from c2c_helpers.tokens import Tokens

__all__ = [
    "DEFAULT_SCOPE",
    "DEVICE_CODE_GRANT",
    "SLOW_DOWN_STEP",
    "DeviceCode",
    "pair_client",
    "pair_device",
    "poll_for_tokens",
    "request_device_code",
    "revoke_token",
    "show_code_on_stderr",
]

logger = logging.getLogger("c2c_helpers")

#: The grant type of the token poll (RFC 8628 section 3.4).
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: What a C2C device asks for: creating assets, and a refresh token (``offline``).
DEFAULT_SCOPE = "asset_create offline"
#: Seconds added to the poll interval on every ``slow_down`` (RFC 8628 section 3.5 says 5).
SLOW_DOWN_STEP = 5.0
#: Poll interval when the service does not say (RFC 8628 section 3.2 says 5).
DEFAULT_INTERVAL = 5.0


@dataclass(frozen=True, repr=False)
class DeviceCode:
    """The answer to ``POST /v2/auth/device/code``.

    ``user_code`` is what the person types (six digits); ``device_code`` is the device's secret handle for
    polling and is hidden in the repr.

    Examples
    --------
    >>> DeviceCode(device_code="dc-secret", user_code="123456", expires_in=120, interval=5)
    DeviceCode(user_code='123456', expires_in=120, interval=5, verification_uri=None, device_code=<redacted>)
    """

    device_code: str
    user_code: str
    expires_in: float
    interval: float
    name: str | None = None
    verification_uri: str | None = None
    verification_uri_complete: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeviceCode:
        """Build from the JSON answer."""
        try:
            return cls(
                device_code=str(data["device_code"]),
                user_code=str(data["user_code"]),
                expires_in=_number(data.get("expires_in", 120)),
                interval=_number(data.get("interval", DEFAULT_INTERVAL)),
                name=data.get("name"),
                verification_uri=data.get("verification_uri"),
                verification_uri_complete=data.get("verification_uri_complete"),
                raw=dict(data),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AuthError(f"device code answer is missing or has a bad field ({type(exc).__name__})") from None

    def __repr__(self) -> str:
        return (
            f"DeviceCode(user_code={self.user_code!r}, expires_in={self.expires_in!r}, interval={self.interval!r}, "
            f"verification_uri={self.verification_uri!r}, device_code=<redacted>)"
        )


def show_code_on_stderr(code: DeviceCode) -> None:
    """The default way to show a pairing code: one line on standard error.

    Pass your own `show_code` to :func:`pair_device` to put it on a camera's screen or in a widget.
    """
    where = code.verification_uri_complete or code.verification_uri or "Frame.io (Cloud Devices > pair)"
    print(
        f"Pair this device: enter code {code.user_code} at {where} within {code.expires_in:g} s",
        file=sys.stderr,
        flush=True,
    )


def request_device_code(
    api_url: str,
    client_id: str,
    client_secret: str,
    *,
    scope: str = DEFAULT_SCOPE,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    client_version: str = CLIENT_VERSION,
) -> DeviceCode:
    """``POST /v2/auth/device/code``: start pairing and get the code to show the person.

    Parameters
    ----------
    api_url : str
        Base URL of the API.
    client_id : str
        A stable id of this device (a serial number, never personal data).
    client_secret : str
        The secret Frame.io issued for this device model.
    scope : str
        Scopes to ask for.
    session, timeout, client_version
        As for :class:`~c2c_helpers.client.C2CClient`.

    Returns
    -------
    DeviceCode

    Raises
    ------
    AuthError
        ``invalid_client`` (a bad secret) and other OAuth errors.
    TransportError
        No answer.
    """
    form = {"client_id": client_id, "client_secret": client_secret, "scope": scope}
    data = post_form(
        api_url,
        "/v2/auth/device/code",
        form,
        multipart=True,  # the guide sends this one as multipart/form-data
        extra_headers={"x-client-platypus-enabled": "true"},  # ask for the verification URIs too
        session=session,
        timeout=timeout,
        client_version=client_version,
        secrets=(client_secret,),
    )
    return DeviceCode.from_json(data)


def poll_for_tokens(
    api_url: str,
    code: DeviceCode,
    client_id: str,
    *,
    client_secret: str | None = None,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    client_version: str = CLIENT_VERSION,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Tokens:
    """Poll ``POST /v2/auth/token`` until the person approves the code, then return the tokens.

    Waits ``code.interval`` seconds before each poll; on ``slow_down`` adds :data:`SLOW_DOWN_STEP` seconds to
    the interval for all later polls; stops when the code expires.

    Parameters
    ----------
    api_url : str
        Base URL of the API.
    code : DeviceCode
        From :func:`request_device_code`.
    client_id : str
        The same id the code was requested with.
    client_secret : str, optional
        The device model's secret: the token reference requires it on this grant too, and Frame.io (and the
        sandbox) refuse a poll without it (``invalid_client``).
    session, timeout, client_version
        As for :class:`~c2c_helpers.client.C2CClient`.
    sleep, clock : callable
        How to wait and tell time (replace them to drive the loop in a test or an event loop).

    Returns
    -------
    Tokens

    Raises
    ------
    InvalidArgument
        No `client_secret` (checked before the first poll).
    PairingExpired
        The code expired (the service said ``expired_token``, or ``expires_in`` passed).
    AuthError
        Any other OAuth error (``access_denied``, ``invalid_grant``, ``invalid_client``...).
    """
    if not client_secret:  # the service answers invalid_client to every poll without it
        raise InvalidArgument("client_secret is required: the token reference asks for it on the device-code grant")
    interval = max(0.0, code.interval)
    deadline = clock() + code.expires_in
    form = {"grant_type": DEVICE_CODE_GRANT, "client_id": client_id, "device_code": code.device_code}
    form["client_secret"] = client_secret
    secrets = (code.device_code, client_secret)
    while True:
        if clock() + interval > deadline:
            raise PairingExpired(
                f"pairing code {code.user_code} expired after {code.expires_in:g} s without being entered; "
                "request a new code"
            )
        sleep(interval)
        try:
            data = post_form(
                api_url,
                "/v2/auth/token",
                form,
                session=session,
                timeout=timeout,
                client_version=client_version,
                secrets=secrets,
            )
        except PairingExpired:
            raise
        except AuthError as err:
            if err.code == "authorization_pending":
                logger.debug("pairing: code %s not entered yet", code.user_code)
                continue
            if err.code == "slow_down":
                interval += SLOW_DOWN_STEP
                logger.info("pairing: the service asked to slow down; polling every %g s", interval)
                continue
            raise
        return Tokens.from_json(data)


def pair_device(
    api_url: str,
    client_id: str,
    client_secret: str,
    *,
    show_code: Callable[[DeviceCode], None] | None = None,
    scope: str = DEFAULT_SCOPE,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    client_version: str = CLIENT_VERSION,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Tokens:
    """Pair a device end to end: request a code, show it, poll until approved.

    Parameters
    ----------
    api_url, client_id, client_secret, scope
        As for :func:`request_device_code`.
    show_code : callable, optional
        Called once with the :class:`DeviceCode` to put ``user_code`` in front of the person;
        :func:`show_code_on_stderr` by default.
    session, timeout, client_version, sleep, clock
        As for :func:`poll_for_tokens`.

    Returns
    -------
    Tokens
        Give them to :class:`~c2c_helpers.client.C2CClient` (or use :func:`pair_client`, which does both).
    """
    code = request_device_code(
        api_url,
        client_id,
        client_secret,
        scope=scope,
        session=session,
        timeout=timeout,
        client_version=client_version,
    )
    (show_code or show_code_on_stderr)(code)
    return poll_for_tokens(
        api_url,
        code,
        client_id,
        client_secret=client_secret,
        session=session,
        timeout=timeout,
        client_version=client_version,
        sleep=sleep,
        clock=clock,
    )


def revoke_token(
    api_url: str,
    token: str,
    client_id: str,
    client_secret: str,
    *,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    client_version: str = CLIENT_VERSION,
) -> None:
    """``POST /v2/auth/revoke``: end an access or refresh token (un-pairing a device revokes its refresh token)."""
    post_form(
        api_url,
        "/v2/auth/revoke",
        {"client_id": client_id, "client_secret": client_secret, "token": token},
        session=session,
        timeout=timeout,
        client_version=client_version,
        secrets=(token, client_secret),
    )


def pair_client(
    api_url: str,
    client_id: str,
    client_secret: str,
    *,
    show_code: Callable[[DeviceCode], None] | None = None,
    client_version: str = CLIENT_VERSION,
    timeout: Timeout = DEFAULT_TIMEOUT,
    on_tokens: Callable[[Tokens], None] | None = None,
    scope: str = DEFAULT_SCOPE,
    controls: SandboxControls | None = None,
) -> C2CClient:
    """Pair a device with :func:`pair_device` and return a :class:`~c2c_helpers.client.C2CClient` holding its
    tokens. The client renews them itself when the service sent a refresh token, which it does only when
    `scope` includes ``offline`` (``client.can_refresh`` says which); `on_tokens` gets every new pair. Right after
    the grant it calls ``/v2/devices/me``, as Frame.io's status guide asks (the answer is ``client.device``), and
    so does the client after every refresh."""
    tokens = pair_device(
        api_url, client_id, client_secret, show_code=show_code, client_version=client_version, timeout=timeout,
        scope=scope,
    )  # fmt: skip
    if on_tokens is not None:
        on_tokens(tokens)
    client = C2CClient(
        api_url,
        tokens.access_token,
        client_version=client_version,
        timeout=timeout,
        refresh_token=tokens.refresh_token,
        client_id=client_id,
        client_secret=client_secret,
        on_tokens=on_tokens,
        controls=controls,
    )
    client.device = client.me()  # the status guide: GET /v2/devices/me right after every new authorization
    return client


def _number(value: Any) -> float:
    number = float(value)
    return int(number) if number.is_integer() else number
