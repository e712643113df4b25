"""Real-time uploads against the sandbox over HTTP: every rule of the create call and the parts call.

Frame.io's "How to: Upload (Real-time)" and its API reference state the rules; where they are silent the
sandbox decides (docs/sandbox-and-frameio.md), and the tests below pin those decisions too.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from c2c_sandbox import Sandbox

MiB = 1024 * 1024
PUT_HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}


def auth(sb: Sandbox, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or sb.access_token}", "x-client-version": "2.0.0"}


def create(sb: Sandbox, **fields: Any) -> requests.Response:
    body = {"name": "C2C_TEST_CLIP.mp4", "filetype": "video/mp4", "is_realtime_upload": True, **fields}
    body = {k: v for k, v in body.items() if v is not ...}
    return requests.post(f"{sb.api_url}/v2/devices/assets", json=body, headers=auth(sb), timeout=10)


def new(sb: Sandbox, **fields: Any) -> str:
    response = create(sb, **fields)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def register(sb: Sandbox, asset_id: str, parts: list[dict[str, Any]], token: str | None = None, **extra: Any) -> Any:
    url = f"{sb.api_url}/v2/devices/assets/{asset_id}/realtime_upload/parts"
    return requests.post(url, json={"parts": parts, **extra}, headers=auth(sb, token), timeout=10)


def urls(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return list(response.json()["upload_urls"])


def part(number: int, size: int = 5 * MiB, final: bool = False) -> dict[str, Any]:
    return {"number": number, "size": size, "is_final": final}


def refused(response: requests.Response, status: int, words: str = "") -> str:
    """The detailed error shape, with `words` in its detail."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and body["errors"][0]["status"] == status and body["message"]
    detail = str(body["errors"][0]["detail"])
    assert words.lower() in detail.lower(), detail
    return detail


def put(url: str, data: bytes) -> requests.Response:
    return requests.put(url, data=data, headers=PUT_HEADERS, timeout=30)


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(10 * MiB + 4321)


# -- create ---------------------------------------------------------------------------------------------------
def test_create_answers_only_id_and_name_and_the_asset_is_created(sandbox: Sandbox) -> None:
    response = create(sandbox)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id", "name"} and response.json()["name"] == "C2C_TEST_CLIP.mp4"
    detail = sandbox.asset_detail(response.json()["id"])
    assert detail["status"] == "created" and detail["realtime"] and detail["parts"] == []


def test_an_extension_alone_names_the_asset_new_file(sandbox: Sandbox) -> None:
    response = create(sandbox, name=..., extension=".mov", filetype="video/quicktime")
    assert response.status_code == 200 and response.json()["name"] == "[new file].mov"
    assert create(sandbox, filesize=None).status_code == 200  # null counts as left out


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"name": "clip"}, "extension"),
        ({"name": ...}, "extension"),
        ({"name": "clip.mp4", "extension": ".mov"}, "extension"),
        ({"extension": "mp4", "name": ...}, "extension"),
        ({"filesize": 21136250}, "filesize"),
        ({"filetype": ...}, "filetype"),
        ({"parts": 2}, "parts"),
        ({"is_realtime_upload": "yes"}, "is_realtime_upload"),
    ],
)
def test_create_refusals(sandbox: Sandbox, fields: dict[str, Any], words: str) -> None:
    refused(create(sandbox, **fields), 400, words)


def test_a_real_time_create_must_be_json(sandbox: Sandbox) -> None:
    form = {"name": "a.mp4", "filetype": "video/mp4", "is_realtime_upload": "true"}
    response = requests.post(f"{sandbox.api_url}/v2/devices/assets", data=form, headers=auth(sandbox), timeout=10)
    refused(response, 400, "JSON")
    form["is_realtime_upload"] = "false"  # a basic upload in a form still needs its filesize
    response = requests.post(f"{sandbox.api_url}/v2/devices/assets", data=form, headers=auth(sandbox), timeout=10)
    refused(response, 400, "filesize")


# -- the parts call -------------------------------------------------------------------------------------------
def test_urls_come_in_request_order_for_numbers_in_any_order(sandbox: Sandbox) -> None:
    asset_id = new(sandbox)
    order = [3, 1, 2, 10_000]
    got = urls(register(sandbox, asset_id, [part(n) for n in order]))
    assert [int(parse_qs(urlsplit(u).query)["partNumber"][0]) for u in got] == order
    detail = sandbox.asset_detail(asset_id)
    assert [p["number"] for p in detail["parts"]] == [1, 2, 3, 10_000] and detail["status"] == "created"


@pytest.mark.parametrize(
    ("parts", "extra", "words"),
    [
        ([part(0)], {}, "number"),
        ([part(10_001)], {}, "number"),
        ([part(1, 5 * MiB - 1)], {}, "5 MiB"),
        ([part(1, 6 * 1024**3)], {}, "size"),
        ([part(1, 100, final=True)], {}, "asset_filesize"),
        ([part(1, 100, final=True)], {"asset_filesize": 0}, "asset_filesize"),
        ([part(1, 100, final=True)], {"asset_filesize": 5 * 1024**4 + 1}, "asset_filesize"),
        ([part(1, final=True), part(2, 10, final=True)], {"asset_filesize": 9}, "final"),
        ([part(1), part(2, 10, final=True), part(3)], {"asset_filesize": 9}, "after the final"),
        ([{"number": 1, "size": 5 * MiB, "is_final": "no"}], {}, "is_final"),
        ([{"size": 5 * MiB}], {}, "number"),
        ([], {}, "parts"),
        (["1"], {}, "parts[0]"),
    ],
)
def test_parts_refusals(sandbox: Sandbox, parts: list[Any], extra: dict[str, Any], words: str) -> None:
    refused(register(sandbox, new(sandbox), parts, **extra), 400, words)


def test_the_final_part_may_be_small_and_the_only_one(sandbox: Sandbox) -> None:
    asset_id = new(sandbox)
    (url,) = urls(register(sandbox, asset_id, [part(1, 3, final=True)], asset_filesize=3))
    assert put(url, b"abc").status_code == 200
    asset = sandbox.wait_for_asset(asset_id, 10)
    assert asset.status == "complete" and asset.filesize == 3 and sandbox.asset_bytes(asset_id) == b"abc"


def test_a_second_final_part_across_calls_is_refused_and_moving_the_end_is_allowed(sandbox: Sandbox) -> None:
    asset_id = new(sandbox)
    urls(register(sandbox, asset_id, [part(1), part(2, 10, final=True)], asset_filesize=5 * MiB + 10))
    refused(register(sandbox, asset_id, [part(3, 10, final=True)], asset_filesize=10 * MiB + 10), 400, "final")
    refused(register(sandbox, asset_id, [part(3)]), 400, "after the final")
    moved = [part(2), part(3, 10, final=True)]  # part 2 is a full part after all; part 3 ends the file
    assert len(urls(register(sandbox, asset_id, moved, asset_filesize=10 * MiB + 10))) == 2
    assert sandbox.store.asset(asset_id).parts == 3


def test_asset_name_renames_only_a_default_name(sandbox: Sandbox) -> None:
    default = new(sandbox, name=..., extension=".mp4")
    refused(register(sandbox, default, [part(1)], asset_name="A001C003"), 400, "extension")
    refused(register(sandbox, default, [part(1)], asset_name="A001C003.mov"), 400, "extension")
    urls(register(sandbox, default, [part(1)], asset_name="A001C003.mp4"))
    assert sandbox.asset_detail(default)["name"] == "A001C003.mp4"
    urls(register(sandbox, default, [part(2)], asset_name="Later.mp4"))  # no longer the default: ignored
    assert sandbox.asset_detail(default)["name"] == "A001C003.mp4"
    named = new(sandbox)
    urls(register(sandbox, named, [part(1)], asset_name="Other.mp4"))
    assert sandbox.asset_detail(named)["name"] == "C2C_TEST_CLIP.mp4"


def test_401_404_and_400_for_the_wrong_asset(sandbox: Sandbox) -> None:
    asset_id = new(sandbox)
    refused(register(sandbox, asset_id, [part(1)], token="not-a-token"), 401)
    no_token = requests.post(
        f"{sandbox.api_url}/v2/devices/assets/{asset_id}/realtime_upload/parts", json={"parts": [part(1)]}, timeout=5
    )
    refused(no_token, 401)
    refused(register(sandbox, "00000000-0000-0000-0000-000000000000", [part(1)]), 404)
    basic = requests.post(
        f"{sandbox.api_url}/v2/devices/assets",
        json={"name": "b.mp4", "filetype": "video/mp4", "filesize": 10},
        headers=auth(sandbox),
        timeout=5,
    ).json()
    refused(register(sandbox, basic["id"], [part(1)]), 400, "not a real-time upload")
    stranger = sandbox.store.ensure_device("SN-REALTIME-STRANGER", "Stranger Cam", "Sandbox Project")
    token, _ = sandbox.store.issue_tokens(stranger.id, "asset_create offline", 3600, 3600)
    refused(register(sandbox, asset_id, [part(1)], token=token), 404)  # another device's asset: not found


def test_the_parts_call_is_rate_limited_like_every_device_call(sandbox: Sandbox, tmp_path) -> None:
    answer = register(sandbox, new(sandbox), [part(1)])
    assert answer.headers["x-ratelimit-limit"] == "100" and answer.headers["x-ratelimit-window"] == "1000"
    with Sandbox(data_dir=tmp_path, api_rate=1) as slow:  # the general limit, lowered: no flood needed
        asset_id = new(slow)
        answers = [register(slow, asset_id, [part(1)]) for _ in range(3)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    refused(limited[0], 429, "rate limit")
    assert limited[0].headers["x-ratelimit-limit"] == "1" and limited[0].headers["x-ratelimit-window"] == "1000"
    assert {a.status_code for a in answers} <= {200, 429}


# -- assembly -------------------------------------------------------------------------------------------------
def test_assembled_once_the_final_part_and_all_before_it_are_in(sandbox: Sandbox, data: bytes) -> None:
    asset_id = new(sandbox, name=..., extension=".mp4")
    first, second = urls(register(sandbox, asset_id, [part(1), part(2)]))
    assert put(second, data[5 * MiB : 10 * MiB]).status_code == 200
    assert put(first, data[: 5 * MiB]).status_code == 200
    assert sandbox.asset_detail(asset_id)["status"] == "uploading"  # every part in, but no final part yet
    (last,) = urls(register(sandbox, asset_id, [part(3, len(data) - 10 * MiB, True)], asset_filesize=len(data)))
    assert put(last, data[10 * MiB :]).status_code == 200
    asset = sandbox.wait_for_asset(asset_id, 10)
    assert asset.status == "complete", asset.error
    assert asset.sha256 == hashlib.sha256(data).hexdigest() and asset.filesize == len(data)
    assert sandbox.asset_bytes(asset_id) == data


def test_a_final_part_first_then_the_others(sandbox: Sandbox, data: bytes) -> None:
    asset_id = new(sandbox)
    plan = [part(3, len(data) - 10 * MiB, True), part(2), part(1)]
    third, second, first = urls(register(sandbox, asset_id, plan, asset_filesize=len(data)))
    for url, piece in ((third, data[10 * MiB :]), (first, data[: 5 * MiB]), (second, data[5 * MiB : 10 * MiB])):
        assert put(url, piece).status_code == 200
    assert sandbox.wait_for_asset(asset_id, 10).sha256 == hashlib.sha256(data).hexdigest()


def test_a_size_that_disagrees_with_asset_filesize_fails_the_asset(sandbox: Sandbox, data: bytes) -> None:
    asset_id = new(sandbox)
    first, last = urls(register(sandbox, asset_id, [part(1), part(2, 100, True)], asset_filesize=5 * MiB + 99))
    assert put(first, data[: 5 * MiB]).status_code == 200
    assert put(last, data[:100]).status_code == 200  # S3 takes any size: only the assembly can tell
    asset = sandbox.wait_for_asset(asset_id, 10)
    assert asset.status == "failed" and "size mismatch" in (asset.error or "")
    assert "5,242,980" in asset.error or "5242980" in asset.error


def test_a_short_part_put_fails_the_assembly_like_s3(sandbox: Sandbox, data: bytes) -> None:
    """The PUT's size is S3's business (any size goes); a non-final part under 5 MiB fails the assembly."""
    asset_id = new(sandbox)
    first, last = urls(register(sandbox, asset_id, [part(1), part(2, 10, True)], asset_filesize=110))
    assert put(first, data[:100]).status_code == 200
    assert put(last, data[:10]).status_code == 200
    asset = sandbox.wait_for_asset(asset_id, 10)
    assert asset.status == "failed" and "EntityTooSmall" in (asset.error or "")


def test_a_part_registered_again_counts_only_once_sent_again(sandbox: Sandbox, data: bytes) -> None:
    asset_id = new(sandbox)
    size = len(data) - 5 * MiB
    first, last = urls(register(sandbox, asset_id, [part(1), part(2, size, True)], asset_filesize=len(data)))
    assert put(first, b"\0" * (5 * MiB)).status_code == 200  # wrong bytes
    (again,) = urls(register(sandbox, asset_id, [part(1)]))  # a fresh URL for part 1: the old bytes are out
    assert [p["received"] for p in sandbox.asset_detail(asset_id)["parts"]] == [False, False]
    assert put(last, data[5 * MiB :]).status_code == 200
    assert sandbox.asset_detail(asset_id)["status"] == "uploading"  # part 1 is missing again
    assert put(again, data[: 5 * MiB]).status_code == 200
    assert sandbox.wait_for_asset(asset_id, 10).sha256 == hashlib.sha256(data).hexdigest()


def test_a_part_sent_twice_is_replaced_even_after_it_joined_the_growing_original(sandbox: Sandbox, data: bytes) -> None:
    asset_id = new(sandbox)
    first, second = urls(register(sandbox, asset_id, [part(1), part(2)]))
    assert put(first, b"\1" * (5 * MiB)).status_code == 200
    assert put(second, data[5 * MiB : 10 * MiB]).status_code == 200
    assert put(first, data[: 5 * MiB]).status_code == 200  # re-sent: replaces what was appended
    (last,) = urls(register(sandbox, asset_id, [part(3, len(data) - 10 * MiB, True)], asset_filesize=len(data)))
    assert put(last, data[10 * MiB :]).status_code == 200
    assert sandbox.wait_for_asset(asset_id, 10).sha256 == hashlib.sha256(data).hexdigest()


def test_a_complete_upload_takes_no_more_parts(sandbox: Sandbox) -> None:
    asset_id = new(sandbox)
    (url,) = urls(register(sandbox, asset_id, [part(1, 1, True)], asset_filesize=1))
    assert put(url, b"x").status_code == 200
    sandbox.wait_for_asset(asset_id, 10)
    refused(register(sandbox, asset_id, [part(1, 1, True)], asset_filesize=1), 400, "complete")


def test_the_page_shows_a_real_time_asset_growing(sandbox: Sandbox, data: bytes) -> None:
    asset_id = new(sandbox, name="growing-on-the-page.mp4")
    first, _ = urls(register(sandbox, asset_id, [part(1), part(2)]))
    assert put(first, data[: 5 * MiB]).status_code == 200
    page = requests.get(f"{sandbox.api_url}/sandbox/tree", timeout=5).text
    entry = page[page.index(asset_id) :][:3000]
    assert "real-time upload" in entry and "1 of 2 registered parts received" in entry
    assert "final part not registered yet" in entry and "size not known yet" in entry
