"""Validation that used to end in a 500 or in HTML: duplicate part numbers in one real-time parts call, non-finite
or extreme numbers in a network spec, rates too slow for any part to get through, and two different
``Content-Length`` headers. Each now gets a 4xx in its surface's shape: Frame.io's detailed JSON on the API and
the controls, S3's XML on the part side.

Every request goes to a real sandbox over HTTP; malformed HTTP goes over a raw socket. Hypothesis runs
derandomized and bounded.
"""

from __future__ import annotations

import json
import math
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c2c_sandbox import Sandbox
from c2c_sandbox.network.profiles import MIN_RATE, NetworkProfile, resolve_network

MiB = 1024 * 1024
PUT_HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(data_dir=tmp_path_factory.mktemp("validation"), create_rate=10_000) as sandbox:
        yield sandbox


def auth(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sb.access_token}", "x-client-version": "2.0.0"}


def detailed(answer: requests.Response, status: int) -> str:
    """Frame.io's detailed error shape with `status`; its detail."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/json", answer.headers
    body = answer.json()
    assert body["code"] == status and body["errors"][0]["status"] == status
    return str(body["errors"][0]["detail"])


def realtime_asset(sb: Sandbox) -> str:
    answer = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": "live.mp4", "filetype": "video/mp4", "is_realtime_upload": True},
        headers=auth(sb),
        timeout=10,
    )
    return str(answer.json()["id"])


def register(sb: Sandbox, asset_id: str, body: Any) -> requests.Response:
    url = f"{sb.api_url}/v2/devices/assets/{asset_id}/realtime_upload/parts"
    headers = {**auth(sb), "Content-Type": "application/json"}
    return requests.post(url, data=json.dumps(body), headers=headers, timeout=10)


# -- the real-time parts call ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "parts",
    [
        [{"number": 1, "size": 10, "is_final": True}, {"number": 1, "size": 5 * MiB, "is_final": False}],
        [{"number": 2, "size": 5 * MiB, "is_final": False}, {"number": 2, "size": 5 * MiB, "is_final": False}],
        [
            {"number": 3, "size": 5 * MiB, "is_final": False},
            {"number": 1, "size": 5 * MiB, "is_final": False},
            {"number": "3", "size": 6 * MiB, "is_final": False},
        ],
    ],
)
def test_a_part_number_twice_in_one_call_is_a_400(sb: Sandbox, parts: list[dict[str, Any]]) -> None:
    asset_id = realtime_asset(sb)
    detail = detailed(register(sb, asset_id, {"parts": parts, "asset_filesize": 10}), 400)
    assert "more than once" in detail
    assert sb.asset_detail(asset_id)["parts"] == []  # nothing registered


PART = st.fixed_dictionaries(
    {"number": st.integers(1, 4), "size": st.sampled_from([0, 10, 5 * MiB, 6 * MiB])},
    optional={"is_final": st.booleans()},
)


@FUZZ
@given(parts=st.lists(PART, min_size=1, max_size=6), filesize=st.one_of(st.none(), st.integers(1, 30 * MiB)))
def test_generated_parts_calls_get_a_200_or_a_400(sb: Sandbox, parts: list[dict[str, Any]], filesize: Any) -> None:
    answer = register(sb, realtime_asset(sb), {"parts": parts, "asset_filesize": filesize})
    if answer.status_code != 200:
        detailed(answer, 400)
    else:
        assert len(answer.json()["upload_urls"]) == len(parts)


# -- network specs --------------------------------------------------------------------------------------------
BAD_NETWORKS = [
    '{"seed": Infinity}',
    '{"seed": 1e400}',
    '{"seed": -1}',
    '{"seed": 1.5}',
    '{"spec": "seed=1e400"}',
    '{"ttfb": 1' + "0" * 400 + "}",
    '{"stall_rate": NaN}',
    '{"uplink": 1}',
    '{"per_connection": 1e-300}',
    '{"spec": "loopback,per_connection=8kbps"}',
    '{"spec": "set-wifi,scale=0.0001"}',
    '{"spec": "wired-studio,scale=1e308"}',
    '{"name": "' + "x" * 1000 + '"}',
]


@pytest.mark.parametrize("body", BAD_NETWORKS)
def test_a_network_spec_out_of_range_is_a_400_and_changes_nothing(sb: Sandbox, body: str) -> None:
    before = requests.get(f"{sb.api_url}/sandbox/network", timeout=10).json()["network"]
    answer = requests.post(
        f"{sb.api_url}/sandbox/network", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    detailed(answer, 400)
    assert requests.get(f"{sb.api_url}/sandbox/network", timeout=10).json()["network"] == before


def test_in_python_a_network_out_of_range_is_a_value_error() -> None:
    for spec in ("seed=1e400", {"ttfb": 10**400}, {"seed": math.inf}, {"uplink": 1}):
        with pytest.raises(ValueError):
            resolve_network(spec)
    with pytest.raises(ValueError):
        NetworkProfile(per_connection=MIN_RATE - 1)


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    st.sampled_from(["1e400", "-5", "0", "nan", "inf", "1e-300", "12Mbps", "3ms", "none", "", "x"]),
)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["per_connection", "uplink", "ttfb", "stall_rate", "seed", "scale"]),
                              NUMBERS, min_size=1, max_size=3))  # fmt: skip
def test_generated_network_fields_get_a_200_or_a_400(sb: Sandbox, fields: dict[str, Any]) -> None:
    body = json.dumps(fields, allow_nan=True)  # Python's JSON reads NaN and Infinity: so may the sandbox's
    answer = requests.post(
        f"{sb.api_url}/sandbox/network", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    if answer.status_code != 200:
        detailed(answer, 400)
    requests.post(f"{sb.api_url}/sandbox/network", json={"preset": "loopback"}, timeout=10)


def test_the_slowest_rate_allowed_still_gets_a_part_through(tmp_path: Path) -> None:
    with Sandbox(data_dir=tmp_path / "sb", network={"per_connection": MIN_RATE}) as slow:
        created = requests.post(
            f"{slow.api_url}/v2/devices/assets",
            json={"name": "slow.mp4", "filetype": "video/mp4", "filesize": 2 * MIN_RATE},
            headers=auth(slow),
            timeout=10,
        ).json()
        started = time.monotonic()
        answer = requests.put(created["upload_urls"][0], data=b"s" * (2 * MIN_RATE), headers=PUT_HEADERS, timeout=30)
        assert answer.status_code == 200 and time.monotonic() - started < 10


# -- two Content-Length headers ---------------------------------------------------------------------------------
def raw(sb: Sandbox, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", sb.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))  # the sandbox closes the connection
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if ": " in line)}
    return int(lines[0].split()[1]), headers, body


def test_two_different_content_lengths_on_a_part_are_s3_s_400(sb: Sandbox) -> None:
    created = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": "a.mp4", "filetype": "video/mp4", "filesize": 10},
        headers=auth(sb),
        timeout=10,
    ).json()
    url = urlsplit(created["upload_urls"][0])
    head = (
        f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: 127.0.0.1:{sb.port}\r\nContent-Type: video/mp4\r\n"
        "x-amz-acl: private\r\nContent-Length: 10\r\nContent-Length: 5\r\n\r\n"
    )
    status, headers, body = raw(sb, head.encode() + b"0123456789")  # no Connection: close: the sandbox closes
    assert status == 400 and headers["content-type"] == "application/xml"
    assert ET.fromstring(body).findtext("Code") == "BadRequest"
    assert sb.asset_detail(created["id"])["parts"] == [{"number": 1, "received": False, "size": None}]
    same = head.replace("Content-Length: 5", "Content-Length: 10")
    assert raw(sb, same.encode().replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + b"0123456789")[0] == 200


def test_two_different_content_lengths_on_the_api_are_a_400(sb: Sandbox) -> None:
    body = b'{"name": "b.mp4", "filetype": "video/mp4", "filesize": 10}'
    head = (
        f"POST /v2/devices/assets HTTP/1.1\r\nHost: 127.0.0.1:{sb.port}\r\nAuthorization: Bearer {sb.access_token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: 3\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    status, headers, answer = raw(sb, head.encode() + body)
    assert status == 400 and headers["content-type"] == "application/json"
    assert "Content-Length" in json.loads(answer)["errors"][0]["detail"]
    controls = head.replace("/v2/devices/assets", "/sandbox/pause")
    assert raw(sb, controls.encode() + body)[0] == 400
