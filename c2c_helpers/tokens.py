"""A device's tokens: the pair the service hands out, renewing it, and keeping it for a client.

Access tokens live 8 hours; :func:`refresh_tokens` trades the single-use refresh token for a new pair (store
the new refresh token: the old one stops working); ending one is :func:`c2c_helpers.pairing.revoke_token`'s
job. :class:`Credentials` holds the live pair for a :class:`~c2c_helpers.client.C2CClient` and renews it once,
for all threads, when the service answers 401.

Token values never appear in reprs or error messages.

Examples
--------
>>> Tokens(access_token="secret-access", refresh_token="secret-refresh", expires_in=28800)
Tokens(access_token=<redacted>, refresh_token=<redacted>, expires_in=28800, token_type='bearer')
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from c2c_helpers._http import CLIENT_VERSION, DEFAULT_TIMEOUT, Timeout, post_form
from c2c_helpers.errors import AuthError

__all__ = ["Credentials", "Tokens", "refresh_tokens"]

logger = logging.getLogger("c2c_helpers")


@dataclass(frozen=True, repr=False)
class Tokens:
    """An access token and its refresh token, as ``POST /v2/auth/token`` returns them.

    The repr hides both values.
    """

    access_token: str
    refresh_token: str | None
    expires_in: float | None = None
    token_type: str = "bearer"  # noqa: S105 - a type name, not a secret
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tokens:
        """Build from the JSON answer."""
        if not isinstance(data, Mapping) or not data.get("access_token"):
            raise AuthError("token answer has no access_token")
        expires = data.get("expires_in")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
            expires_in=_number(expires) if expires is not None else None,
            token_type=str(data.get("token_type", "bearer")),
            raw=dict(data),
        )

    def __repr__(self) -> str:
        refresh = "<redacted>" if self.refresh_token else "None"
        return (
            f"Tokens(access_token=<redacted>, refresh_token={refresh}, expires_in={self.expires_in!r}, "
            f"token_type={self.token_type!r})"
        )


class Credentials:
    """The access token a client sends and, when it has them, the refresh token and client credentials that
    renew it.

    Thread-safe: when several threads meet a 401 with the same token, one renews it and the others repeat
    their call with the new one.

    >>> Credentials("access-value-1").can_refresh
    False
    """

    def __init__(
        self,
        access_token: str,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        self._access = access_token
        self._refresh = refresh_token
        self._client_id = client_id
        self._client_secret = client_secret
        self._lock = threading.Lock()

    @property
    def access_token(self) -> str:
        """The current access token (changes after a renewal)."""
        return self._access

    @property
    def can_refresh(self) -> bool:
        """Whether there is a refresh token and the client credentials to use it."""
        return bool(self._refresh and self._client_id and self._client_secret)

    def secrets(self) -> tuple[str | None, ...]:
        """Every value that must never reach a message."""
        return (self._access, self._refresh, self._client_secret)

    def renew(
        self,
        api_url: str,
        *,
        stale: str | None = None,
        on_tokens: Callable[[Tokens], None] | None = None,
        session: requests.Session | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        client_version: str = CLIENT_VERSION,
    ) -> Tokens | None:
        """Trade the refresh token for a new pair and keep it; `on_tokens` gets the new pair.

        With `stale` (the access token a refused call used), nothing happens and ``None`` comes back when
        another thread has renewed it meanwhile.

        Raises
        ------
        AuthError
            No refresh token and client credentials, or the service refused them.
        """
        with self._lock:
            if stale is not None and stale != self._access:
                return None  # another thread renewed while we waited: repeat with the new token
            if not (self._refresh and self._client_id and self._client_secret):
                raise AuthError("cannot refresh: this client was not given refresh_token, client_id and client_secret")
            if stale is not None:
                logger.info("access token refused (401): renewing it with the refresh token")
            tokens = refresh_tokens(
                api_url,
                self._refresh,
                self._client_id,
                self._client_secret,
                session=session,
                timeout=timeout,
                client_version=client_version,
            )
            self._access = tokens.access_token
            self._refresh = tokens.refresh_token  # the old one is spent; None if the service sent none
        if on_tokens is not None:
            on_tokens(tokens)
        return tokens


def refresh_tokens(
    api_url: str,
    refresh_token: str,
    client_id: str,
    client_secret: str,
    *,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    client_version: str = CLIENT_VERSION,
) -> Tokens:
    """Trade a refresh token for a new access token and a new refresh token.

    Refresh tokens are single-use: the old one is refused from now on (``{"error": "invalid_request"}``). A 401
    here means the authorization is gone: the device must pair again.

    Raises
    ------
    AuthError
        The refresh token is unknown, used, expired or revoked, or the client credentials are wrong.
    """
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    data = post_form(
        api_url,
        "/v2/auth/token",
        form,
        session=session,
        timeout=timeout,
        client_version=client_version,
        secrets=(refresh_token, client_secret),
        context="refresh tokens (POST /v2/auth/token)",
    )
    return Tokens.from_json(data)


def _number(value: Any) -> float:
    number = float(value)
    return int(number) if number.is_integer() else number
