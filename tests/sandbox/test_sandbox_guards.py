"""Guards with a gap: the CSRF check on form posts, and rate-limit keys a client must not be able to vary.

Frame.io limits a user across all its requests and tokens, so the sandbox keys its limits on the device (every
token of it), and a caller it does not know on its address (every loopback address being one). Every request
goes to a real sandbox over HTTP; the bursts are short and bounded, and read the ``x-ratelimit-remaining`` the
answers carry rather than wait for a 429, so a loaded machine does not change what they show.
"""

from __future__ import annotations

import http.client
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.api.common import MAX_KEYS, LeakyBucket

FORM = "application/x-www-form-urlencoded"
GUARDED_POSTS = ["/sandbox/assets/clear", "/sandbox/reset", "/sandbox/checks", "/sandbox/pause", "/sandbox/resume"]


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(data_dir=tmp_path / "sb") as sandbox:  # Frame.io's 5 creates a second
        yield sandbox


def device(sb: Sandbox, token: str | None = None, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token or sb.access_token}", "x-client-version": "2.0.0"}


def create(sb: Sandbox, headers: dict[str, str]) -> requests.Response:
    body = {"name": "a.mp4", "filetype": "video/mp4", "filesize": 10}
    return requests.post(f"{sb.api_url}/v2/devices/assets", json=body, headers=headers, timeout=10)


# -- CSRF ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", GUARDED_POSTS)
@pytest.mark.parametrize("content_type", [FORM, "multipart/form-data; boundary=x", "text/plain"])
def test_a_form_post_with_an_empty_body_needs_the_csrf_token_too(sb: Sandbox, path: str, content_type: str) -> None:
    """An HTML form with no fields posts an empty body: what a page on another site can send to Reset."""
    sb_assets = create(sb, device(sb)).json()["id"]
    answer = requests.post(f"{sb.api_url}{path}", data=b"", headers={"Content-Type": content_type}, timeout=10)
    assert answer.status_code == 403 and "CSRF token" in answer.text  # the page's shape: it was a form
    assert sb.asset_detail(sb_assets) is not None and sb.model.checks == {}


def test_scripts_still_post_without_a_body_or_with_json(sb: Sandbox) -> None:
    assert requests.post(f"{sb.api_url}/sandbox/resume", timeout=10).status_code == 200  # what RemoteSandbox sends
    assert requests.post(f"{sb.api_url}/sandbox/reset", json={}, timeout=10).status_code == 200


# -- rate-limit keys -----------------------------------------------------------------------------------------
def test_one_device_s_creates_share_one_limit_however_its_authorization_is_spelled(sb: Sandbox) -> None:
    other, _ = sb.store.issue_tokens(sb.device.id, "asset_create offline", 3600, 3600)  # a second token, same device
    spellings = [
        device(sb),
        device(sb, scheme="bearer"),
        device(sb, scheme="BEARER"),
        {**device(sb), "Authorization": f"Bearer  {sb.access_token} "},
        device(sb, token=other),
        device(sb, token=other, scheme="bearer"),
    ]
    answers = [create(sb, spellings[n % len(spellings)]) for n in range(12)]
    assert [a.status_code for a in answers].count(429) >= 4, [a.status_code for a in answers]
    assert answers[-1].headers["x-ratelimit-limit"] == "5"


def test_unknown_tokens_do_not_each_get_a_fresh_limit(sb: Sandbox) -> None:
    remaining = []
    for _ in range(20):
        answer = requests.get(f"{sb.api_url}/v2/devices/me", headers=device(sb, secrets.token_urlsafe(16)), timeout=10)
        assert answer.status_code == 401
        remaining.append(int(answer.headers["x-ratelimit-remaining"]))
    assert min(remaining) <= 90, remaining  # one bucket, drawn down by all of them (100 per second)


def oauth_from(sb: Sandbox, source: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=10, source_address=(source, 0))
    connection.request("POST", "/v2/auth/token", body="grant_type=nope", headers={"Content-Type": FORM})
    return connection.getresponse()


def test_the_oauth_limit_is_one_for_every_loopback_address(sb: Sandbox) -> None:
    remaining = []
    for n in range(20):
        answer = oauth_from(sb, f"127.0.0.{n + 2}")  # a client picks its source address at will
        assert answer.status == 400 and json.loads(answer.read())["error"] == "unsupported_grant_type"
        remaining.append(int(answer.headers["x-ratelimit-remaining"]))
    assert min(remaining) <= 90, remaining


def test_a_limiter_remembers_at_most_max_keys() -> None:
    """Only a sandbox listening beyond loopback sees this many callers (keys are devices and addresses): the
    limiter alone, then, with more keys than it may remember."""
    bucket = LeakyBucket(limit=100, window_ms=1)  # drains within a millisecond
    for n in range(MAX_KEYS + 500):
        bucket.take(f"address:10.0.{n // 256}.{n % 256}")
    assert len(bucket) <= MAX_KEYS
    busy = LeakyBucket(limit=5, window_ms=3_600_000)  # nothing drains: the keys idle longest go
    for n in range(MAX_KEYS + 10):
        busy.take(f"device:{n}")
    assert len(busy) == MAX_KEYS and busy.take("device:0")[1] == 4  # the oldest was forgotten: a fresh bucket
