"""The sandbox's S3 side over real HTTP: signatures, expiry, completion, faults, S3-shaped errors."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from c2c_sandbox import Sandbox

MiB = 1024 * 1024
HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}


def new_asset(sb: Sandbox, size: int, parts: int | None = None, filetype: str = "video/mp4") -> dict:
    body = {"name": "part-test.mp4", "filetype": filetype, "filesize": size, "offset": 0}
    if parts is not None:
        body["parts"] = parts
    response = requests.post(
        f"{sb.api_url}/v2/devices/assets", json=body, timeout=10, headers={"Authorization": f"Bearer {sb.access_token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def chunks(data: bytes, n: int) -> list[bytes]:
    size = -(-len(data) // n)
    return [data[i * size : (i + 1) * size] for i in range(n)]


def put(url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float | tuple = 20) -> requests.Response:
    return requests.put(url, data=body, headers=HEADERS if headers is None else headers, timeout=timeout)


def s3_error(response: requests.Response, status: int, code: str) -> ET.Element:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    assert root.tag == "Error" and root.findtext("Code") == code, response.text
    assert root.findtext("Message") and root.findtext("RequestId")
    return root


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(11 * MiB)


def test_parts_in_any_order_assemble_byte_identical(sandbox: Sandbox, payload: bytes) -> None:
    asset = new_asset(sandbox, len(payload), parts=2)
    pieces = chunks(payload, 2)
    for index in (1, 0):  # the guide: "try running the uploads in reverse"
        response = put(asset["upload_urls"][index], pieces[index])
        assert response.status_code == 200
        assert response.headers["ETag"] == f'"{hashlib.md5(pieces[index]).hexdigest()}"'  # noqa: S324
    done = sandbox.wait_for_asset(asset["id"])
    assert done.status == "complete" and done.error is None
    assert sandbox.asset_bytes(asset["id"]) == payload
    assert sandbox.asset_sha256(asset["id"]) == hashlib.sha256(payload).hexdigest()
    got = requests.get(f"{sandbox.api_url}/sandbox/assets/{asset['id']}", timeout=5).json()  # a control
    assert got["status"] == "complete" and got["upload_completed_at"].endswith("Z")


def test_parallel_parts_and_a_resent_part(sandbox: Sandbox) -> None:
    data = os.urandom(6 * MiB * 8 - 12345)
    asset = new_asset(sandbox, len(data), parts=8)
    pieces = chunks(data, 8)
    assert put(asset["upload_urls"][3], os.urandom(len(pieces[3]))).status_code == 200  # wrong bytes first
    # Every part but the last in parallel, part 3 re-sent among them; the last one alone after, since the
    # part that completes the set starts the assembly (a re-send racing it could find the upload closed).
    with ThreadPoolExecutor(7) as pool:
        answers = list(pool.map(lambda i: put(asset["upload_urls"][i], pieces[i]), range(7)))
    answers.append(put(asset["upload_urls"][7], pieces[7]))
    assert [a.status_code for a in answers] == [200] * 8
    sandbox.wait_for_asset(asset["id"])
    assert sandbox.asset_bytes(asset["id"]) == data  # the re-sent part replaced the first one


def test_single_part_and_tiny_file(sandbox: Sandbox) -> None:
    asset = new_asset(sandbox, 3, parts=1)
    assert put(asset["upload_urls"][0], b"abc").status_code == 200
    assert sandbox.wait_for_asset(asset["id"]).status == "complete"
    assert sandbox.asset_bytes(asset["id"]) == b"abc"


def test_wrong_content_type_and_missing_acl_do_not_match_the_signature(sandbox: Sandbox, payload: bytes) -> None:
    asset = new_asset(sandbox, len(payload), parts=2)
    url, piece = asset["upload_urls"][0], chunks(payload, 2)[0]
    s3_error(put(url, piece, {"Content-Type": "video/quicktime", "x-amz-acl": "private"}), 403, "SignatureDoesNotMatch")
    s3_error(put(url, piece, {"Content-Type": "video/mp4"}), 403, "SignatureDoesNotMatch")
    s3_error(put(url, piece, {"Content-Type": "video/mp4", "x-amz-acl": "public-read"}), 403, "SignatureDoesNotMatch")
    assert put(url, piece).status_code == 200  # the right headers still work after the refusals


def test_tampered_urls_are_refused(sandbox: Sandbox) -> None:
    asset = new_asset(sandbox, 11 * MiB, parts=2)
    other = new_asset(sandbox, 11 * MiB, parts=2)
    url = asset["upload_urls"][0]
    swapped_part = url.replace("partNumber=1&", "partNumber=2&")
    s3_error(put(swapped_part, b"x"), 403, "SignatureDoesNotMatch")
    other_upload = url.split("uploadId=")[0] + "uploadId=" + other["upload_urls"][0].split("uploadId=")[1]
    s3_error(put(other_upload, b"x"), 403, "SignatureDoesNotMatch")
    zeroed = url[: url.index("X-Amz-Signature=") + 16] + "0" * 64
    s3_error(put(zeroed, b"x"), 403, "SignatureDoesNotMatch")
    s3_error(put(url.split("?")[0] + "?partNumber=1&uploadId=abc", b"x"), 403, "AccessDenied")
    no_date = "&".join(p for p in url.split("&") if not p.startswith("X-Amz-Date="))
    s3_error(put(no_date, b"x"), 400, "AuthorizationQueryParametersError")
    s3_error(requests.get(url, timeout=5), 403, "SignatureDoesNotMatch")  # signed for PUT only
    assert requests.get(f"{sandbox.api_url}/health", timeout=5).status_code == 200


def test_expired_urls_are_refused(sandbox: Sandbox) -> None:
    sandbox.set_url_ttl(1)
    asset = new_asset(sandbox, 11 * MiB, parts=2)
    assert "X-Amz-Expires=1&" in asset["upload_urls"][0]
    time.sleep(2.1)  # the signing time has a one-second resolution
    root = s3_error(put(asset["upload_urls"][0], b"x" * 1000), 403, "AccessDenied")
    assert root.findtext("Message") == "Request has expired"
    assert root.findtext("Expires") and root.findtext("ServerTime") and root.findtext("X-Amz-Expires") == "1"


def test_url_lifetime_over_http(sandbox: Sandbox) -> None:
    response = requests.post(f"{sandbox.api_url}/sandbox/settings", json={"url_ttl": 60}, timeout=5)
    assert response.json()["url_ttl"] == 60
    assert "X-Amz-Expires=60&" in new_asset(sandbox, 1)["upload_urls"][0]
    bad = requests.post(f"{sandbox.api_url}/sandbox/settings", json={"url_ttl": 0}, timeout=5)
    assert bad.status_code == 400


def test_after_completion_the_upload_is_gone(sandbox: Sandbox) -> None:
    asset = new_asset(sandbox, 5, parts=1)
    assert put(asset["upload_urls"][0], b"12345").status_code == 200
    sandbox.wait_for_asset(asset["id"])
    s3_error(put(asset["upload_urls"][0], b"12345"), 404, "NoSuchUpload")


def test_a_size_mismatch_fails_the_asset(sandbox: Sandbox) -> None:
    """The floor mistake: chunks of floor(size / n) leave the last byte out; the asset fails, loudly."""
    data = os.urandom(11 * MiB + 1)
    asset = new_asset(sandbox, len(data), parts=2)
    floor = len(data) // 2
    for i, url in enumerate(asset["upload_urls"]):
        assert put(url, data[i * floor : (i + 1) * floor]).status_code == 200
    done = sandbox.wait_for_asset(asset["id"])
    assert done.status == "failed" and "size mismatch" in (done.error or "")
    detail = requests.get(f"{sandbox.api_url}/sandbox/assets/{asset['id']}", timeout=5).json()
    assert detail["status"] == "failed" and "size mismatch" in detail["error"]


def test_parts_smaller_than_5_mib_fail_as_entity_too_small(sandbox: Sandbox) -> None:
    asset = new_asset(sandbox, 11 * MiB, parts=2)
    assert put(asset["upload_urls"][0], b"a" * MiB).status_code == 200
    assert put(asset["upload_urls"][1], b"b" * (10 * MiB)).status_code == 200
    done = sandbox.wait_for_asset(asset["id"])
    assert done.status == "failed" and done.error and done.error.startswith("EntityTooSmall")


def test_missing_content_length_and_oversized_announcements(sandbox: Sandbox) -> None:
    asset = new_asset(sandbox, 11 * MiB, parts=2)
    url = asset["upload_urls"][0]
    chunked = requests.put(url, data=iter([b"abc"]), headers=HEADERS, timeout=5)  # Transfer-Encoding: chunked
    s3_error(chunked, 411, "MissingContentLength")
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: video/mp4\r\n"
            f"x-amz-acl: private\r\nContent-Length: {6 * 1024**3}\r\n\r\n".encode()
        )
        received = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            received += chunk
    reply = received.decode()
    assert reply.startswith("HTTP/1.1 400") and "<Code>EntityTooLarge</Code>" in reply


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("slow_down", 503, "SlowDown"),
        ("internal_error", 500, "InternalError"),
        ("request_timeout", 400, "RequestTimeout"),
    ],
)
def test_injected_error_faults(sandbox: Sandbox, kind: str, status: int, code: str) -> None:
    data = os.urandom(11 * MiB)
    asset = new_asset(sandbox, len(data), parts=2)
    pieces = chunks(data, 2)
    sandbox.faults.inject(kind, part=2, times=2)
    assert put(asset["upload_urls"][0], pieces[0]).status_code == 200  # part 1 is not affected
    s3_error(put(asset["upload_urls"][1], pieces[1]), status, code)
    s3_error(put(asset["upload_urls"][1], pieces[1]), status, code)
    assert put(asset["upload_urls"][1], pieces[1]).status_code == 200  # times=2: the third attempt passes
    sandbox.wait_for_asset(asset["id"])
    assert sandbox.asset_bytes(asset["id"]) == data


def test_drop_closes_the_connection_mid_body(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    data = os.urandom(6 * MiB)
    asset = new_asset(sandbox, len(data), parts=1)
    sandbox.faults.inject("drop")
    with pytest.raises(requests.ConnectionError), caplog.at_level("DEBUG", logger="c2c_sandbox.http"):
        put(asset["upload_urls"][0], data)
        time.sleep(0.1)
    assert "Bad request" not in caplog.text  # the rest of the body was not read as a new request
    assert put(asset["upload_urls"][0], data).status_code == 200
    sandbox.wait_for_asset(asset["id"])
    assert sandbox.asset_bytes(asset["id"]) == data


def test_stall_outlasts_the_client_timeout(sandbox: Sandbox) -> None:
    asset = new_asset(sandbox, 1000, parts=1)
    sandbox.faults.inject("stall", seconds=3)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        put(asset["upload_urls"][0], b"s" * 1000, timeout=(2, 0.5))
    assert time.monotonic() - started < 2.5
    assert put(asset["upload_urls"][0], b"s" * 1000).status_code == 200


def test_delay_answers_late_but_right(sandbox: Sandbox) -> None:
    asset = new_asset(sandbox, 10, parts=1)
    sandbox.faults.inject("delay", seconds=0.3)
    started = time.monotonic()
    assert put(asset["upload_urls"][0], b"0123456789").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_faults_over_http(sandbox: Sandbox) -> None:
    base = f"{sandbox.api_url}/sandbox/faults"
    assert requests.post(base, json={"kind": "slow_down", "part": 1, "times": 3}, timeout=5).status_code == 200
    assert requests.get(base, timeout=5).json()["planned"] == [
        {"kind": "slow_down", "part": 1, "times": 3, "seconds": 1.0}
    ]
    for bad in (
        {"kind": "meteor"},
        {"kind": "drop", "part": 0},
        {"kind": "drop", "times": 0},
        {"kind": "stall", "seconds": "soon"},
    ):
        assert requests.post(base, json=bad, timeout=5).status_code == 400
    assert requests.delete(base, timeout=5).json() == {"planned": []}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "meteor"}, "unknown fault kind"),
        ({"kind": "drop", "part": 0}, "part must be"),
        ({"kind": "drop", "times": 0}, "times must be"),
        ({"kind": "stall", "seconds": -1}, "seconds must be"),
    ],
)
def test_inject_refuses_bad_plans(sandbox: Sandbox, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sandbox.faults.inject(**kwargs)


def test_random_faults_are_replayable(sandbox: Sandbox) -> None:
    def run() -> list[str | None]:
        sandbox.faults.random(0.5, kinds=("slow_down", "internal_error"), seed=7)
        picks = [sandbox.faults.take(1) for _ in range(40)]
        sandbox.faults.clear()
        return [p.kind if p else None for p in picks]

    first = run()
    assert first == run() and 5 < sum(p is not None for p in first) < 35


def test_delay_reads_the_body_first_so_the_read_timeout_fires(sandbox: Sandbox) -> None:
    data = os.urandom(6 * MiB)
    asset = new_asset(sandbox, len(data), parts=1)
    sandbox.faults.inject("delay", seconds=1.5)
    with pytest.raises(requests.ReadTimeout):
        put(asset["upload_urls"][0], data, timeout=(5, 0.5))
    sandbox.wait_for_asset(asset["id"])  # the late answer still stored the part
    assert sandbox.asset_bytes(asset["id"]) == data


def test_signing_secrets_stay_out_of_debug_logs(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG"):
        url = new_asset(sandbox, 10, parts=1)["upload_urls"][0]
    signature = url.split("X-Amz-Signature=")[1]
    assert signature not in caplog.text and sandbox.signer.access_key not in caplog.text
