"""Fuzzing the sandbox over HTTP: generated methods, paths, headers, query strings and bodies.

Whatever arrives, the sandbox answers with a 2xx/3xx or the right kind of 4xx in Frame.io's (API) or S3's
(parts) shape, never a 5xx or a stack trace, keeps serving, and a refused request changes no state.
Hypothesis runs derandomized, so a failure replays the same way on every machine.
"""

from __future__ import annotations

import json
import socket
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c2c_sandbox import Sandbox

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
API_PATHS = [
    "/v2/auth/device/code",
    "/v2/auth/token",
    "/v2/auth/revoke",
    "/v2/devices/me",
    "/v2/devices/heartbeat",
    "/v2/devices/assets",
    "/v2/assets",
    "/v2/assets/{asset}",
    "/health",
    "/sandbox/pair",
    "/sandbox/pause",
    "/sandbox/resume",
    "/sandbox/faults",
    "/sandbox/settings",
    "/sandbox/tokens/expire",
    "/sandbox/assets/{asset}",
    "/sandbox/assets/{asset}/original",
    "/sandbox/state",
    "/sandbox/tree",
    "/",
    "/pair",
    "/v2/{junk}",
    "/{junk}",
]
FIELDS = [
    "name",
    "filetype",
    "filesize",
    "offset",
    "parts",
    "channel",
    "client_id",
    "client_secret",
    "scope",
    "grant_type",
    "device_code",
    "refresh_token",
    "token",
    "user_code",
    "kind",
    "part",
    "times",
    "seconds",
    "url_ttl",
    "start",
    "end",
    "device_id",
    "project",
]

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)


def bodies_for(fields: list[str]) -> st.SearchStrategy[tuple[str, Any]]:
    """Mostly JSON objects and forms that use the route's ``fields`` (any values); sometimes raw bytes or nothing."""
    keys = st.sampled_from(fields) | text if fields else text
    plausible = st.one_of(st.integers(-3, 10**12).map(str), st.sampled_from(["video/mp4", "0", "-1", "1e3", ""]))
    values = st.one_of(json_values, plausible)
    return st.one_of(
        st.dictionaries(keys, values, min_size=1, max_size=6).map(lambda d: ("json", d)),
        st.dictionaries(keys, text | plausible, min_size=1, max_size=6).map(lambda d: ("form", d)),
        st.binary(max_size=300).map(lambda b: ("raw", b)),
        st.just(("none", None)),
    )


bodies = bodies_for(FIELDS)
header_values = st.text(alphabet=string.printable.strip("\r\n\x0b\x0c"), max_size=60).map(str.strip)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(data_dir=Path(tmp_path_factory.mktemp("fuzz")), poll_interval=0, create_rate=1000) as sb:
        yield sb


def counts(sb: Sandbox) -> tuple[int, int, int]:
    return (sb.store.count_assets(), len(sb.store.devices()), len(sb.store.pending_codes()))


def check_api_answer(response: requests.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text and 'File "' not in response.text
    if response.status_code >= 400:
        body = response.json()
        simple = set(body) <= {"error", "error_description"} and isinstance(body.get("error"), str)
        detailed = (
            body.get("code") == response.status_code
            and body["errors"][0]["status"] == response.status_code
            and body["errors"][0]["title"]
            and body["errors"][0]["detail"]
            and body["message"]
        )
        assert simple or detailed, body


ROUTES = {  # each route with the fields it reads
    ("POST", "/v2/auth/device/code"): ["client_id", "client_secret", "scope"],
    ("POST", "/v2/auth/token"): ["grant_type", "client_id", "client_secret", "device_code", "refresh_token"],
    ("POST", "/v2/auth/revoke"): ["client_id", "client_secret", "token"],
    ("GET", "/v2/devices/me"): [],
    ("POST", "/v2/devices/heartbeat"): [],
    ("POST", "/v2/devices/assets"): ["name", "filetype", "filesize", "offset", "parts", "channel"],
    ("POST", "/v2/assets"): ["name", "filetype", "filesize", "offset", "parts", "channel"],
    ("GET", "/v2/assets/{asset}"): [],
    ("GET", "/health"): [],
    ("GET", "/openapi.json"): [],
    ("POST", "/sandbox/pair"): ["user_code", "project"],
    ("POST", "/sandbox/pause"): ["channel", "device_id", "start", "end"],
    ("POST", "/sandbox/resume"): ["channel", "device_id"],
    ("POST", "/sandbox/faults"): ["kind", "part", "times", "seconds"],
    ("DELETE", "/sandbox/faults"): [],
    ("POST", "/sandbox/settings"): ["url_ttl"],
    ("POST", "/sandbox/tokens/expire"): ["token"],
    ("POST", "/sandbox/reset"): [],
    ("GET", "/sandbox/assets/{asset}"): [],
    ("GET", "/sandbox/assets/{asset}/original"): [],
    ("GET", "/"): [],
    ("GET", "/pair"): ["code"],
}


def send(
    target: Sandbox,
    method: str,
    path: str,
    junk: str,
    auth: str,
    garbage: str,
    content_type: str | None,
    body: tuple[str, Any],
    query: dict[str, str],
) -> None:
    url = target.api_url + path.format(asset=junk or "x", junk=junk or "y")
    headers = {"x-client-version": "2.0.0"}
    if auth == "valid":
        headers["Authorization"] = f"Bearer {target.access_token}"
    elif auth == "garbage":
        headers["Authorization"] = garbage
    kind, value = body
    kwargs: dict[str, Any] = {}
    if kind == "json":
        kwargs["data"] = json.dumps(value, allow_nan=True).encode()
    elif kind in ("form", "raw"):
        kwargs["data"] = value
    if content_type:
        headers["Content-Type"] = content_type
    before = counts(target)
    response = requests.request(method, url, headers=headers, params=query, timeout=10, allow_redirects=False, **kwargs)
    if method == "HEAD":
        assert response.status_code < 500
    elif response.headers.get("Content-Type", "").startswith("application/json"):
        check_api_answer(response)
    else:
        assert response.status_code < 500 and "Traceback" not in response.text
    if response.status_code >= 400:
        assert counts(target) == before, "a refused request changed the sandbox's state"
    target.reset()  # a pause or a fault plan that the fuzz set must not leak into the next example
    assert requests.get(f"{target.api_url}/health", timeout=5).status_code == 200


request_parts = {
    "junk": st.text(string.ascii_letters + string.digits + "-._~%", max_size=30),
    "auth": st.sampled_from(["valid", "none", "garbage"]),
    "garbage": header_values,
    "content_type": st.sampled_from(
        [
            None,
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data",
            "application/json; charset=latin-1",
        ]
    ),
    "body": bodies,
    "query": st.dictionaries(text, text, max_size=3),
}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@settings(FUZZ, max_examples=60)
@given(data=st.data(), **{k: v for k, v in request_parts.items() if k != "body"})
def test_every_route_survives_generated_input(
    target: Sandbox, method: str, path: str, data: st.DataObject, **parts: Any
) -> None:
    body = data.draw(bodies_for(ROUTES[method, path] or FIELDS), label="body")
    send(target, method, path, body=body, **parts)


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    path=st.sampled_from(API_PATHS),
    **request_parts,
)
def test_any_method_on_any_path(target: Sandbox, method: str, path: str, **parts: Any) -> None:
    send(target, method, path, **parts)


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {}, optional={f: json_values for f in ("name", "filetype", "filesize", "offset", "parts", "channel")}
    )
)
def test_asset_create_refuses_bad_fields_with_422(target: Sandbox, fields: dict[str, Any]) -> None:
    before = target.store.count_assets()
    response = requests.post(
        f"{target.api_url}/v2/devices/assets",
        timeout=10,
        headers={"Authorization": f"Bearer {target.access_token}", "Content-Type": "application/json"},
        data=json.dumps(fields, allow_nan=True),
    )
    check_api_answer(response)
    if response.status_code == 200:
        asset = response.json()
        assert 1 <= len(asset["upload_urls"]) <= 10_000 and asset["filesize"] >= 1
        assert target.store.count_assets() == before + 1
    else:
        assert response.status_code in (400, 422, 409), response.text
        assert target.store.count_assets() == before


@FUZZ
@given(
    query=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "partNumber",
                    "uploadId",
                    "X-Amz-Algorithm",
                    "X-Amz-Credential",
                    "X-Amz-Date",
                    "X-Amz-Expires",
                    "X-Amz-SignedHeaders",
                    "X-Amz-Signature",
                ]
            )
            | text,
            text,
        ),
        max_size=8,
    ),
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]),
    body=st.binary(max_size=200),
    tail=st.text(string.ascii_letters + "/-._", max_size=30),
    headers=st.dictionaries(
        st.sampled_from(["Content-Type", "x-amz-acl", "Content-MD5", "Expect", "x-amz-date"]), header_values
    ),
)
def test_s3_side_answers_xml_errors_to_anything_unsigned(
    target: Sandbox, query: list[tuple[str, str]], method: str, body: bytes, tail: str, headers: dict[str, str]
) -> None:
    url = f"{target.api_url}/{target.bucket}/parts/{tail}"
    response = requests.request(method, url, params=query, data=body, headers=headers, timeout=10)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if method != "HEAD":
        assert response.headers["Content-Type"] == "application/xml" and response.text.find("<Code>") > 0
    assert requests.get(f"{target.api_url}/health", timeout=5).status_code == 200


# -- hostile bodies and framing (one regression test per case in test_sandbox_hostile.py) ----------------------
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
hostile_text = st.lists(st.characters() | surrogates, max_size=12).map("".join)  # lone surrogates included


@st.composite
def hostile_json(draw: st.DrawFn) -> bytes:
    """JSON that Python's parser chokes on or cannot turn into text: deep nesting, lone surrogates, or both."""
    depth = draw(st.sampled_from([0, 1, 50, 900, 1100, 10_000, 50_000]))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    leaf = json.dumps(draw(st.dictionaries(st.sampled_from(FIELDS) | hostile_text, hostile_text, max_size=3)))
    return (opener * depth + leaf + closer * depth).encode()


JSON_ROUTES = [(m, p) for (m, p), fields in ROUTES.items() if m == "POST" and not p.startswith("/v2/auth")]


@FUZZ
@given(route=st.sampled_from(JSON_ROUTES), body=hostile_json(), typed=st.booleans())
def test_hostile_json_gets_a_4xx_on_every_json_route(
    target: Sandbox, route: tuple[str, str], body: bytes, typed: bool
) -> None:
    method, path = route
    headers = {"Authorization": f"Bearer {target.access_token}", "x-client-version": "2.0.0"}
    if typed:
        headers["Content-Type"] = "application/json"
    before = counts(target)
    response = requests.request(method, target.api_url + path, data=body, headers=headers, timeout=10)
    check_api_answer(response)
    if response.status_code >= 400:
        assert counts(target) == before
    target.reset()


def raw_status(sb: Sandbox, head: str, body: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", sb.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head_bytes, _, payload = answer.partition(b"\r\n\r\n")
    return int(head_bytes.split()[1]), payload


@FUZZ
@given(
    length=st.text(alphabet=st.characters(max_codepoint=0xFF, exclude_categories=("Cc",)), min_size=1, max_size=24)
    .map(str.strip)  # (http.client strips a header's spaces; an empty one is no header)
    .filter(lambda v: v and not (v.isascii() and v.isdigit() and len(v) <= 19)),
    s3=st.booleans(),
)
def test_a_malformed_content_length_is_a_400_on_both_sides(target: Sandbox, length: str, s3: bool) -> None:
    """Anything but plain decimal digits: non-ASCII digits, signs, spaces, lists, hex, too many digits."""
    path = f"/{target.bucket}/parts/x?X-Amz-Signature=0" if s3 else "/v2/devices/assets"
    head = (
        f"{'PUT' if s3 else 'POST'} {path} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}"
    )
    status, payload = raw_status(target, head, b"{}")
    assert status == 400, (length, payload[:200])
    assert (b"<Code>BadRequest</Code>" in payload) if s3 else (b"Content-Length" in payload)
