"""Hostile input, one regression test per case: the sandbox answers 4xx, never 5xx, and frees its threads.

Deep JSON, lone surrogates (in JSON, in forms, in a bearer token, in a path), malformed ``Content-Length`` (API and
S3 side), JSON without a content type, idle and half-sent bodies (400 ``RequestTimeout`` after the idle timeout,
as S3 does after about 20 s), and headers a part URL did not sign (403 ``AccessDenied``, ``HeadersNotSigned``).
Every request goes to a real sandbox over HTTP; malformed HTTP goes over a raw socket.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from c2c_sandbox import Sandbox

MiB = 1024 * 1024
PART_HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}
IDLE = 1.0  # the idle timeout of the `idle` sandbox (S3's is about 20 s; the sandbox's default is 20)
DEEP = b"[" * 10_000 + b"]" * 10_000
JSON_ROUTES = [  # every route that reads a JSON body: (method, path, needs the device's token)
    ("POST", "/v2/devices/assets", True),
    ("POST", "/v2/assets", True),
    ("POST", "/sandbox/pair", False),
    ("POST", "/sandbox/pause", False),
    ("POST", "/sandbox/resume", False),
    ("POST", "/sandbox/faults", False),
    ("POST", "/sandbox/settings", False),
    ("POST", "/sandbox/tokens/expire", False),
]


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox whose connections time out after one silent second."""
    with Sandbox(data_dir=tmp_path_factory.mktemp("idle"), idle_timeout=IDLE, create_rate=1000) as sb:
        yield sb


def raw(sb: Sandbox, head: str, body: bytes = b"", *, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (request line and headers, ``\\n``-separated, latin-1) and ``body``; read until closed."""
    request = head.strip().replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", sb.port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = read_all(sock)
    return parse(answer)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def detailed(status: int, body: bytes) -> str:
    """The detail of a Frame.io detailed error with ``status``."""
    answer = json.loads(body)
    assert answer["code"] == status and answer["errors"][0]["status"] == status, answer
    return str(answer["errors"][0]["detail"])


def s3_code(body: bytes) -> ET.Element:
    root = ET.fromstring(body)
    assert root.tag == "Error" and root.findtext("Message") and root.findtext("RequestId")
    return root


def new_asset(sb: Sandbox, size: int = 6 * MiB) -> dict:
    response = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": "hostile.mp4", "filetype": "video/mp4", "filesize": size, "offset": 0, "parts": 1},
        headers={"Authorization": f"Bearer {sb.access_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def put_head(sb: Sandbox, url: str, length: str, extra: str = "") -> str:
    target = urlsplit(url)
    return (
        f"PUT {target.path}?{target.query} HTTP/1.1\nHost: 127.0.0.1:{sb.port}\nContent-Type: video/mp4\n"
        f"x-amz-acl: private\nContent-Length: {length}\n{extra}"
    )


def auth_head(sb: Sandbox, method: str, path: str, token: bool) -> str:
    head = f"{method} {path} HTTP/1.1\nHost: 127.0.0.1:{sb.port}\n"
    return head + (f"Authorization: Bearer {sb.access_token}\n" if token else "")


# -- deep JSON and lone surrogates -----------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "token"), JSON_ROUTES)
def test_json_nested_ten_thousand_deep_is_a_400(sandbox: Sandbox, method: str, path: str, token: bool) -> None:
    head = auth_head(sandbox, method, path, token) + f"Content-Type: application/json\nContent-Length: {len(DEEP)}"
    status, _, body = raw(sandbox, head, DEEP)
    assert status == 400 and "too deep" in detailed(400, body)


@pytest.mark.parametrize(("method", "path", "token"), JSON_ROUTES)
def test_a_lone_surrogate_in_json_is_a_400(sandbox: Sandbox, method: str, path: str, token: bool) -> None:
    before = sandbox.store.count_assets()
    for fields in ({"name": "\ud800.mov", "filetype": "video/mp4", "filesize": 10}, {"token": "\udfff"},
                   {"user_code": "12\ud83d", "kind": ["\ud800"]}, {"\ud800": 1}):  # fmt: skip
        body = json.dumps(fields).encode()  # ensure_ascii: the surrogate travels as a \\ud800 escape
        assert b"\\ud8" in body or b"\\udf" in body
        head = auth_head(sandbox, method, path, token) + f"Content-Type: application/json\nContent-Length: {len(body)}"
        status, _, answer = raw(sandbox, head, body)
        assert status == 400 and "surrogate" in detailed(400, answer)
    assert sandbox.store.count_assets() == before


def test_lone_surrogates_in_forms_a_token_and_a_path_are_4xx(sandbox: Sandbox) -> None:
    """UTF-8 cannot carry a lone surrogate: ``%ED%A0%80`` (its CESU-8 bytes) is decoded as replacement
    characters, a header is Latin-1, a path is decoded leniently; all end in an ordinary 4xx."""
    secret = sandbox.client_secret
    forms = {
        "/v2/auth/device/code": f"client_id=%ED%A0%80&client_secret={secret}",
        "/v2/auth/token": f"grant_type=refresh_token&client_id=x&client_secret={secret}&refresh_token=%ED%A0%80",
        "/v2/auth/revoke": f"client_id=%ED%A0%80&client_secret={secret}&token=%ED%A0%80",
    }
    for path, form in forms.items():
        head = f"POST {path} HTTP/1.1\nHost: 127.0.0.1:{sandbox.port}\nContent-Type: application/x-www-form-urlencoded"
        status, _, _ = raw(sandbox, f"{head}\nContent-Length: {len(form)}", form.encode())
        assert 200 <= status < 500, (path, status)
    status, _, body = raw(sandbox, "GET /v2/devices/me HTTP/1.1\nHost: x\nAuthorization: Bearer \xed\xa0\x80")
    assert status == 401 and detailed(401, body)
    for path in ("/v2/assets/%ED%A0%80", "/sandbox/assets/%ED%A0%80", "/sandbox/assets/%ED%A0%80/original"):
        status, _, body = raw(sandbox, auth_head(sandbox, "GET", path, True))
        assert 400 <= status < 500 and detailed(status, body)


# -- Content-Length ----------------------------------------------------------------------------------------------
BAD_LENGTHS = ["\xb2", "\u0663".encode().decode("latin-1"), "-5", "+5", "5, 5", "0x10", "1_0", "9" * 25]


@pytest.mark.parametrize("length", BAD_LENGTHS)
def test_a_malformed_content_length_is_a_400_on_the_api(sandbox: Sandbox, length: str) -> None:
    for method, path, token in [*JSON_ROUTES, ("POST", "/v2/auth/token", False), ("GET", "/health", False)]:
        head = auth_head(sandbox, method, path, token) + f"Content-Type: application/json\nContent-Length: {length}"
        status, _, body = raw(sandbox, head, b"{}")
        assert status == 400 and "Content-Length" in detailed(400, body), (path, body)


@pytest.mark.parametrize("length", BAD_LENGTHS)
def test_a_malformed_content_length_is_s3_s_400_on_a_part(sandbox: Sandbox, length: str) -> None:
    asset = new_asset(sandbox)
    status, headers, body = raw(sandbox, put_head(sandbox, asset["upload_urls"][0], length), b"0123456789")
    assert status == 400 and headers["content-type"] == "application/xml"
    assert s3_code(body).findtext("Code") == "BadRequest"
    assert sandbox.asset_detail(asset["id"])["status"] == "created"  # nothing was stored


def test_a_part_over_five_gib_is_entity_too_large_and_a_missing_length_411(sandbox: Sandbox) -> None:
    url = new_asset(sandbox)["upload_urls"][0]
    status, _, body = raw(sandbox, put_head(sandbox, url, str(5 * 1024**3 + 1)))
    assert status == 400 and s3_code(body).findtext("Code") == "EntityTooLarge"
    head = put_head(sandbox, url, "0").replace("Content-Length: 0\n", "")
    status, _, body = raw(sandbox, head)
    assert status == 411 and s3_code(body).findtext("Code") == "MissingContentLength"


# -- JSON without a content type -----------------------------------------------------------------------------
def test_json_without_a_content_type_is_read_as_json_on_the_api(sandbox: Sandbox) -> None:
    body = json.dumps({"name": "typeless.mp4", "filetype": "video/mp4", "filesize": 6 * MiB, "offset": 0}).encode()
    head = auth_head(sandbox, "POST", "/v2/devices/assets", True) + f"Content-Length: {len(body)}"
    status, _, answer = raw(sandbox, head, body)
    assert status == 200 and json.loads(answer)["name"] == "typeless.mp4"
    for junk, reason in ((b"[1, 2]", "must be a JSON object, not list"), (b"name=x", "not valid JSON")):
        head = auth_head(sandbox, "POST", "/v2/devices/assets", True) + f"Content-Length: {len(junk)}"
        status, _, answer = raw(sandbox, head, junk)
        detail = detailed(400, answer)
        assert status == 400 and "without a Content-Type is read as JSON" in detail and reason in detail


def test_the_controls_refuse_a_body_without_a_content_type(sandbox: Sandbox) -> None:
    """A page on another site can send a typeless body without a preflight: the controls want application/json."""
    body = b'{"kind": "drop", "times": 1000}'
    status, _, answer = raw(sandbox, auth_head(sandbox, "POST", "/sandbox/faults", False) + "Content-Length: 31", body)
    assert status == 415 and "application/json" in detailed(415, answer)
    assert sandbox.faults.pending() == []


# -- idle and half-sent bodies ----------------------------------------------------------------------------------
def request_threads() -> int:
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def wait_for_threads(count: int, timeout: float = 5) -> int:
    deadline = time.monotonic() + timeout
    while request_threads() > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return request_threads()


def test_a_half_sent_part_times_out_like_s3_and_frees_its_thread(idle: Sandbox) -> None:
    asset = new_asset(idle)
    baseline = wait_for_threads(0)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", idle.port), timeout=10) as sock:
        head = put_head(idle, asset["upload_urls"][0], str(6 * MiB))
        sock.sendall(head.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + b"x" * MiB)
        time.sleep(IDLE / 4)
        assert list((idle.data_dir / "parts" / asset["id"]).glob("*.tmp"))  # being received
        status, headers, body = parse(read_all(sock))  # the sandbox answers, then closes
    assert IDLE <= time.monotonic() - started < IDLE + 3
    assert status == 400 and headers["content-type"] == "application/xml"
    root = s3_code(body)
    assert root.findtext("Code") == "RequestTimeout"
    assert root.findtext("Message") == (
        "Your socket connection to the server was not read from or written to within the timeout period."
        " Idle connections will be closed."
    )
    assert not list((idle.data_dir / "parts").rglob("*.tmp"))  # the half part is gone
    assert idle.asset_detail(asset["id"])["status"] == "created"
    assert wait_for_threads(baseline) == baseline


@pytest.mark.parametrize(
    ("path", "content_type", "half"),
    [
        ("/v2/devices/assets", "application/json", b'{"name": "half'),
        ("/sandbox/faults", "application/json", b'{"kind": "dr'),
        ("/v2/auth/token", "application/x-www-form-urlencoded", b"grant_type=refresh_tok"),
    ],
)
def test_a_half_sent_api_body_times_out_with_a_400(idle: Sandbox, path: str, content_type: str, half: bytes) -> None:
    head = auth_head(idle, "POST", path, True) + f"Content-Type: {content_type}\nContent-Length: 500"
    started = time.monotonic()
    status, _, body = raw(idle, head, half)
    assert IDLE <= time.monotonic() - started < IDLE + 3
    assert status == 400 and "not read from or written to within the timeout period" in detailed(400, body)


def test_an_idle_connection_is_closed_after_the_idle_timeout(idle: Sandbox) -> None:
    baseline = wait_for_threads(0)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", idle.port), timeout=10) as sock:
        sock.sendall(b"PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        assert read_all(sock) == b""
    assert IDLE <= time.monotonic() - started < IDLE + 3
    assert wait_for_threads(baseline) == baseline
    assert requests.get(f"{idle.api_url}/health", timeout=5).status_code == 200


def test_a_slow_but_steady_part_is_not_cut_off(idle: Sandbox) -> None:
    """The timeout is for silence, not for slowness: a body that keeps coming is received whole."""
    data = bytes(range(256)) * 4 * 1024 * 6  # 6 MiB
    asset = new_asset(idle, len(data))

    with socket.create_connection(("127.0.0.1", idle.port), timeout=20) as sock:
        head = put_head(idle, asset["upload_urls"][0], str(len(data)))
        sock.sendall(head.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n")
        for i in range(0, len(data), 2 * MiB):
            time.sleep(IDLE * 0.6)
            sock.sendall(data[i : i + 2 * MiB])
        status, _, body = parse(read_all(sock))
    assert status == 200, body
    assert idle.wait_for_asset(asset["id"]).status == "complete"
    assert idle.asset_bytes(asset["id"]) == data


def test_a_body_that_breaks_its_own_framing_is_a_400(sandbox: Sandbox) -> None:
    """``Transfer-Encoding: chunked`` over bytes that are not chunks: S3's BadRequest, not a 500."""
    asset = new_asset(sandbox)
    head = put_head(sandbox, asset["upload_urls"][0], "10", "Transfer-Encoding: chunked\n")
    status, _, body = raw(sandbox, head, b"xyz\r\nabcde")  # "xyz" is no chunk size
    assert status == 400 and s3_code(body).findtext("Code") == "BadRequest"
    assert not list((sandbox.data_dir / "parts").rglob("*.tmp"))


def test_the_idle_timeout_defaults_to_s3_s_twenty_seconds(tmp_path: Path) -> None:
    assert Sandbox(data_dir=tmp_path).idle_timeout == 20.0
    with pytest.raises(ValueError, match="idle_timeout"):
        Sandbox(data_dir=tmp_path, idle_timeout=0)


# -- headers the URL did not sign --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"Content-MD5": "XUFAKrxLKna5cZ2REBfFkg=="}, "content-md5"),
        ({"x-amz-checksum-crc32": "AAAAAA=="}, "x-amz-checksum-crc32"),
        ({"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, "x-amz-content-sha256"),
        ({"x-amz-sdk-checksum-algorithm": "CRC32"}, "x-amz-sdk-checksum-algorithm"),
        ({"X-Amz-Meta-Camera": "A", "Content-MD5": "XUFAKrxLKna5cZ2REBfFkg=="}, "content-md5, x-amz-meta-camera"),
    ],
)
def test_unsigned_headers_are_refused_as_s3_does(sandbox: Sandbox, extra: dict[str, str], named: str) -> None:
    asset = new_asset(sandbox)
    response = requests.put(asset["upload_urls"][0], data=b"hello", headers={**PART_HEADERS, **extra}, timeout=10)
    assert response.status_code == 403 and response.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == "There were headers present in the request which were not signed"
    assert root.findtext("HeadersNotSigned") == named
    assert sandbox.asset_detail(asset["id"])["status"] == "created"  # nothing stored


def test_signed_headers_pass_and_a_bad_signature_is_reported_first(sandbox: Sandbox) -> None:
    """``x-amz-acl`` is signed by the URL; with a wrong signature the answer is SignatureDoesNotMatch, whatever
    unsigned header came along (the header check runs only on a URL that verifies)."""
    asset = new_asset(sandbox)
    url = asset["upload_urls"][0]
    tampered = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    md5 = {"Content-MD5": "XUFAKrxLKna5cZ2REBfFkg=="}
    response = requests.put(tampered, data=b"hello", headers={**PART_HEADERS, **md5}, timeout=10)
    assert response.status_code == 403 and ET.fromstring(response.content).findtext("Code") == "SignatureDoesNotMatch"
    response = requests.put(url, data=b"x" * (6 * MiB), headers=PART_HEADERS, timeout=10)
    assert response.status_code == 200
