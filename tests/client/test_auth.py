"""Pairing (device-code flow) and token refresh against the sandbox."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator

import pytest

from c2c_helpers import AuthError, C2CClient, DeviceCode, PairingExpired, Tokens, pair_client, pair_device
from c2c_helpers.pairing import SLOW_DOWN_STEP, poll_for_tokens, request_device_code, revoke_token
from c2c_helpers.tokens import refresh_tokens
from c2c_sandbox import Sandbox


def no_sleep(seconds: float) -> None:
    """For pairings approved before the first poll: the service hands out tokens without the wait."""


def new_client_id() -> str:
    return f"test-cam-{uuid.uuid4().hex[:10]}"


def approve_when_shown(sb: Sandbox, shown: list[DeviceCode]) -> object:
    def show(code: DeviceCode) -> None:
        shown.append(code)
        sb.approve(code.user_code)  # the person enters the code as soon as it is on screen

    return show


@pytest.fixture
def paired(sandbox: Sandbox) -> Iterator[tuple[C2CClient, list[Tokens], str]]:
    """A freshly paired device's client that can refresh, and the tokens it was handed over time."""
    client_id = new_client_id()
    handed: list[Tokens] = []
    tokens = pair_device(
        sandbox.api_url,
        client_id,
        sandbox.client_secret,
        show_code=lambda code: sandbox.approve(code.user_code),
        sleep=no_sleep,  # approved before the first poll: no need to wait the interval here
    )
    handed.append(tokens)
    client = C2CClient(
        sandbox.api_url,
        tokens.access_token,
        refresh_token=tokens.refresh_token,
        client_id=client_id,
        client_secret=sandbox.client_secret,
        on_tokens=handed.append,
    )
    yield client, handed, client_id
    client.close()


def test_pairing_end_to_end(sandbox: Sandbox) -> None:
    shown: list[DeviceCode] = []
    client_id = new_client_id()
    tokens = pair_device(
        sandbox.api_url, client_id, sandbox.client_secret, show_code=approve_when_shown(sandbox, shown)
    )
    (code,) = shown
    assert len(code.user_code) == 6 and code.user_code.isdigit()
    assert code.interval == 1 and 0 < code.expires_in <= 120
    assert code.verification_uri_complete and code.user_code in code.verification_uri_complete
    assert tokens.token_type == "bearer" and tokens.expires_in == 28800 and tokens.refresh_token
    me = C2CClient(sandbox.api_url, tokens.access_token).me()
    assert me["name"].endswith(client_id[-6:])


def test_reprs_hide_codes_and_tokens(sandbox: Sandbox) -> None:
    code = request_device_code(sandbox.api_url, new_client_id(), sandbox.client_secret)
    assert code.device_code not in repr(code) and code.user_code in repr(code)
    tokens = Tokens(access_token="access-value-123", refresh_token="refresh-value-456", expires_in=10)
    assert "access-value-123" not in repr(tokens) and "refresh-value-456" not in repr(tokens)


def test_bad_client_secret_is_invalid_client(sandbox: Sandbox) -> None:
    with pytest.raises(AuthError) as info:
        request_device_code(sandbox.api_url, new_client_id(), "wrong-secret-value")
    assert info.value.code == "invalid_client" and info.value.status == 400
    assert "wrong-secret-value" not in str(info.value)


def test_slow_down_adds_five_seconds(sandbox: Sandbox) -> None:
    client_id = new_client_id()
    code = request_device_code(sandbox.api_url, client_id, sandbox.client_secret)
    asked: list[float] = []

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        if len(asked) == 3:
            sandbox.approve(code.user_code)  # approved while we wait out the longer interval
        # never actually sleeps: the first two polls come too fast on purpose

    tokens = poll_for_tokens(sandbox.api_url, code, client_id, client_secret=sandbox.client_secret, sleep=sleep)
    # poll 1: authorization_pending; poll 2 (too soon): slow_down -> interval + 5 s; poll 3: tokens
    assert asked == [code.interval, code.interval, code.interval + SLOW_DOWN_STEP]
    assert tokens.access_token


def test_code_expiring_on_the_server_stops_polling(sandbox: Sandbox) -> None:
    short = Sandbox(poll_interval=1, code_ttl=1)
    with short:
        client_id = new_client_id()
        code = request_device_code(short.api_url, client_id, short.client_secret)
        naps = iter([0.0, 1.2])
        with pytest.raises(PairingExpired) as info:
            poll_for_tokens(
                short.api_url,
                code,
                client_id,
                client_secret=short.client_secret,
                sleep=lambda s: time.sleep(next(naps)),
                clock=lambda: 0.0,  # only the server's clock decides here
            )
    assert info.value.code == "expired_token"
    assert isinstance(info.value, AuthError)


def test_code_expiring_locally_stops_without_asking_again(sandbox: Sandbox) -> None:
    client_id = new_client_id()
    code = request_device_code(sandbox.api_url, client_id, sandbox.client_secret)
    ticks = itertools.count(0, 50)  # each look at the clock: 50 s later
    polls: list[float] = []
    with pytest.raises(PairingExpired, match=f"pairing code {code.user_code} expired"):
        poll_for_tokens(
            sandbox.api_url,
            code,
            client_id,
            client_secret=sandbox.client_secret,
            sleep=polls.append,
            clock=lambda: float(next(ticks)),
        )
    assert len(polls) < 3


def test_expired_access_token_is_renewed_once_and_the_call_repeated(
    paired: tuple[C2CClient, list[Tokens], str], sandbox: Sandbox
) -> None:
    client, handed, _ = paired
    first = client.token
    assert sandbox.expire_token(first)
    assert client.me()["status"] == "online"  # 401 -> refresh -> repeated
    assert client.token != first
    assert len(handed) == 2  # the pairing's tokens, then the refreshed ones
    client.create_asset("after-refresh.mov", "video/quicktime", 10, 0)
    assert sandbox.expire_token(client.token)
    client.heartbeat()  # 401 -> refresh -> repeated
    assert len(handed) == 3


def test_refresh_tokens_rotate_and_the_old_one_is_refused(
    paired: tuple[C2CClient, list[Tokens], str], sandbox: Sandbox
) -> None:
    client, handed, client_id = paired
    old_refresh = handed[-1].refresh_token
    assert old_refresh
    new = client.refresh()
    assert new.refresh_token != old_refresh
    with pytest.raises(AuthError) as info:
        refresh_tokens(sandbox.api_url, old_refresh, client_id, sandbox.client_secret)
    assert info.value.code == "invalid_request"
    assert old_refresh not in str(info.value) and sandbox.client_secret not in str(info.value)


def test_a_refused_refresh_raises_instead_of_looping(
    paired: tuple[C2CClient, list[Tokens], str], sandbox: Sandbox
) -> None:
    client, handed, client_id = paired
    revoke_token(sandbox.api_url, handed[-1].refresh_token or "", client_id, sandbox.client_secret)
    sandbox.expire_token(client.token)
    with pytest.raises(AuthError) as info:
        client.me()
    assert info.value.status == 400  # the refresh grant's refusal, not an endless 401 loop


def test_revoked_access_token_is_refused(sandbox: Sandbox) -> None:
    client_id = new_client_id()
    tokens = pair_device(
        sandbox.api_url,
        client_id,
        sandbox.client_secret,
        show_code=lambda c: sandbox.approve(c.user_code),
        sleep=no_sleep,
    )
    client = C2CClient(sandbox.api_url, tokens.access_token)
    client.me()
    revoke_token(sandbox.api_url, tokens.access_token, client_id, sandbox.client_secret)
    with pytest.raises(AuthError) as info:
        client.me()
    assert info.value.status == 401


def test_client_pair_classmethod(sandbox: Sandbox) -> None:
    handed: list[Tokens] = []
    client = pair_client(
        sandbox.api_url,
        new_client_id(),
        sandbox.client_secret,
        show_code=lambda code: sandbox.approve(code.user_code),
        on_tokens=handed.append,
    )
    assert client.can_refresh and len(handed) == 1 and client.token == handed[0].access_token
    assert "can_refresh=True" in repr(client) and client.token not in repr(client)


def test_refresh_without_credentials_says_what_is_missing(sandbox: Sandbox) -> None:
    with pytest.raises(AuthError, match="not given refresh_token, client_id and client_secret"):
        C2CClient(sandbox.api_url, sandbox.access_token).refresh()
