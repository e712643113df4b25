"""S3 conformance by name: the ceph/s3-tests cases that apply to a presigned part PUT, ported, on both sides.

Each test is named after the ceph/s3-tests case it ports (https://github.com/ceph/s3-tests,
``s3tests_boto3/functional/test_s3.py`` and ``test_headers.py``) and runs twice: against the sandbox's own S3
gateway (``gateway``) and against a real S3-compatible store behind the sandbox (``store``: SeaweedFS's
``weed mini``, its URLs presigned by the store). What a case expects is what AWS S3 answers for that request on
a URL signed the way Frame.io's are (``content-type;host;x-amz-acl``), which is not always what the ceph case
asserts for its own (unsigned-header-free) requests: the porting note of each case says where. A side that
answers otherwise is an ``xfail(strict=True)`` with the reason, so that a fix shows up as a failure to update.
``docs/s3-conformance.md`` is the table of these cases, and of those left out with why.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.s3.bucket import Bucket

pytestmark = [pytest.mark.xdist_group("store"), pytest.mark.slow]

MiB = 1024 * 1024
FILETYPE = "video/mp4"
SIGNED = {"Content-Type": FILETYPE, "x-amz-acl": "private"}  # the two headers the part URLs sign (with host)
SIDES = ("gateway", "store")


@pytest.fixture(params=SIDES)
def side(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The embedded gateway (the shared sandbox), or the sandbox whose parts go to the real store."""
    sb: Sandbox = request.getfixturevalue("sandbox" if request.param == "gateway" else "store_sandbox")
    yield sb
    sb.reset()  # the URL lifetime back to the default


def differs(side_name: str, reason: str) -> pytest.MarkDecorator:
    """The mark of a case one side answers otherwise than AWS S3 (see the table)."""
    return pytest.mark.xfail(strict=True, reason=f"{side_name}: {reason}")


def new_upload(sb: Sandbox, size: int, parts: int | None = None) -> tuple[str, list[str]]:
    """Create an asset through the C2C API (as a device does); its id and upload URLs."""
    body: dict[str, object] = {"name": f"case-{os.urandom(3).hex()}.mp4", "filetype": FILETYPE,
                               "filesize": size, "offset": 0}  # fmt: skip
    if parts is not None:
        body["parts"] = parts
    headers = {"Authorization": f"Bearer {sb.access_token}", "x-client-version": "2.0.0"}
    answer = requests.post(f"{sb.api_url}/v2/devices/assets", json=body, headers=headers, timeout=30)
    answer.raise_for_status()
    return answer.json()["id"], answer.json()["upload_urls"]


def put(url: str, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.put(url, data=body, headers=SIGNED if headers is None else headers, timeout=60)


def raw_put(url: str, headers: list[tuple[str, str]], body: bytes = b"") -> tuple[int, str]:
    """A PUT written by hand: exactly these headers (no Content-Length unless listed), then the body."""
    target = urlsplit(url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    try:
        conn.putrequest("PUT", f"{target.path}?{target.query}", skip_host=False, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def code(text: str) -> str:
    found = re.search(r"<Code>([^<]+)</Code>", text)
    return found.group(1) if found else ""


def with_query(url: str, **changes: str | None) -> str:
    """The URL with query parameters changed (None: removed); the signature is then no longer its own."""
    target = urlsplit(url)
    params = dict(parse_qsl(target.query, keep_blank_values=True))
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return target._replace(query=urlencode(params)).geturl()


def presigned(sb: Sandbox, expires: int) -> str:
    """A part URL signed by the side itself with any X-Amz-Expires (the API never hands out such a one)."""
    asset_id, _ = new_upload(sb, 6 * MiB)
    asset = sb.store.asset(asset_id)
    assert asset is not None
    external: Bucket | None = sb.model.external
    if external is not None:
        return external.presign_part(asset.s3_key, asset.upload_id, 1, FILETYPE, expires)
    return sb.signer.presign(sb.api_url, sb.bucket, asset.s3_key, asset.upload_id, 1, FILETYPE, expires)


def parts_of(size: int, n: int) -> list[bytes]:
    data = os.urandom(size)
    step = -(-size // n)
    return [data[i * step : (i + 1) * step] for i in range(n)]


def assembled(sb: Sandbox, asset_id: str) -> str:
    asset = sb.wait_for_asset(asset_id, 60)
    assert asset.status == "complete", asset.error
    return asset.sha256 or ""


def sha(*pieces: bytes) -> str:
    return hashlib.sha256(b"".join(pieces)).hexdigest()


# -- authentication and expiry (test_s3.py) -----------------------------------------------------------------


def test_object_raw_put_authenticated_expired(side: Sandbox) -> None:
    side.set_url_ttl(1)
    _, [url] = new_upload(side, 1000)
    time.sleep(2.2)
    answer = put(url, b"x" * 1000)
    assert answer.status_code == 403 and code(answer.text) == "AccessDenied"


@pytest.mark.parametrize("expires", [0, -7], ids=["range_zero", "out_positive_range"])
def test_object_raw_get_x_amz_expires_out_range_zero_and_negative(side: Sandbox, expires: int) -> None:
    """Ported from the GET cases ``..._out_range_zero`` and ``..._out_positive_range`` (-7 s) to a part PUT."""
    url = with_query(presigned(side, 3600), **{"X-Amz-Expires": str(expires)})  # the signature no longer fits
    answer = put(url, b"x" * 1000)
    assert answer.status_code in (400, 403) and code(answer.text) in (
        "AccessDenied", "AuthorizationQueryParametersError", "SignatureDoesNotMatch")  # fmt: skip


def test_object_raw_get_x_amz_expires_out_max_range(side: Sandbox) -> None:
    """A URL signed with X-Amz-Expires over 7 days (604,800 s) is refused, however well signed."""
    answer = put(presigned(side, 604_801), b"x" * 1000)
    assert answer.status_code == 400 and code(answer.text) == "AuthorizationQueryParametersError"


def test_object_presigned_put_object_with_acl(side: Sandbox) -> None:
    """A URL that signs ``x-amz-acl`` takes the PUT that sends it, and refuses the one that does not."""
    _, [url] = new_upload(side, 1000)
    without = put(url, b"x" * 1000, headers={"Content-Type": FILETYPE})
    assert without.status_code == 403
    assert put(url, b"x" * 1000).status_code == 200


def test_object_create_bad_authorization_empty(side: Sandbox) -> None:
    """(test_headers.py) Ported to a presigned URL: its signature empty."""
    _, [url] = new_upload(side, 1000)
    answer = put(with_query(url, **{"X-Amz-Signature": ""}), b"x" * 1000)
    assert answer.status_code in (400, 403)


def test_object_create_bad_authorization_none(side: Sandbox) -> None:
    """(test_headers.py) Ported to a presigned URL: no authentication in its query at all."""
    _, [url] = new_upload(side, 1000)
    bare = with_query(url, **{p: None for p in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                                "X-Amz-SignedHeaders", "X-Amz-Signature")})  # fmt: skip
    answer = put(bare, b"x" * 1000)
    assert answer.status_code == 403 and code(answer.text) == "AccessDenied"


# -- Content-MD5 (test_headers.py) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "md5",
    [
        pytest.param("YWJyYWNhZGFicmE=", id="invalid_short"),
        pytest.param("rL0Y20xC+Fzt72VPzMSk2A==", id="bad"),
        pytest.param("", id="empty"),
    ],
)
@pytest.mark.parametrize(
    "side",
    ["gateway", pytest.param("store", marks=differs("store", "checks the unsigned Content-MD5 instead of refusing"
                                                    " it as not signed: 400 BadDigest (short, bad), InvalidDigest"
                                                    " (empty)"))],
    indirect=True,
)  # fmt: skip
def test_object_create_bad_md5(side: Sandbox, md5: str) -> None:
    """``bad_md5_invalid_short`` / ``_bad`` / ``_empty``: ceph expects 400 InvalidDigest / BadDigest for a request
    that signs Content-MD5. A Frame.io part URL does not sign it, so AWS refuses the header first: 403
    AccessDenied, ``HeadersNotSigned: content-md5``. Either way nothing is stored."""
    _, [url] = new_upload(side, 1000)
    answer = put(url, b"x" * 1000, headers={**SIGNED, "Content-MD5": md5})
    assert answer.status_code == 403 and code(answer.text) == "AccessDenied"


def test_object_create_bad_md5_none(side: Sandbox) -> None:
    _, [url] = new_upload(side, 1000)
    assert put(url, b"x" * 1000).status_code == 200


# -- Content-Length (test_headers.py) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "length"),
    [
        pytest.param("gateway", "", id="gateway-empty", marks=differs("gateway", "the WSGI server passes an empty"
                     " Content-Length on as none at all: 411 MissingContentLength")),
        pytest.param("store", "", id="store-empty"),
        pytest.param("gateway", "-1", id="gateway-negative"),
        pytest.param("store", "-1", id="store-negative"),
    ],
    indirect=["side"],
)  # fmt: skip
def test_object_create_bad_contentlength(side: Sandbox, length: str) -> None:
    """``bad_contentlength_empty`` / ``_negative``: a length that is not one is 400."""
    _, [url] = new_upload(side, 1000)
    headers = [(k, v) for k, v in SIGNED.items()] + [("Content-Length", length)]
    status, _ = raw_put(url, headers)
    assert status == 400


@pytest.mark.parametrize(
    "side",
    ["gateway", pytest.param("store", marks=differs("store", "takes a PUT with no Content-Length as an empty"
                                                    " part (200)"))],
    indirect=True,
)  # fmt: skip
def test_object_create_bad_contentlength_none(side: Sandbox) -> None:
    _, [url] = new_upload(side, 1000)
    status, text = raw_put(url, list(SIGNED.items()))
    assert status == 411 and code(text) == "MissingContentLength"


# -- multipart uploads (test_s3.py), through the sandbox's assembly -----------------------------------------


def test_multipart_upload_resend_part(side: Sandbox) -> None:
    """A part sent again (other bytes, same size) before the last arrives: the original has the second."""
    one, two, three = parts_of(15 * MiB, 3)
    asset_id, urls = new_upload(side, 15 * MiB, parts=3)
    again = os.urandom(len(two))
    for url, body in ((urls[0], one), (urls[1], two), (urls[1], again), (urls[2], three)):
        assert put(url, body).status_code == 200
    assert assembled(side, asset_id) == sha(one, again, three)


@pytest.mark.parametrize("size", [5 * MiB + 100 * 1024, 10 * MiB + 600 * 1024, 5 * MiB + 1], ids=str)
def test_multipart_upload_multiple_sizes(side: Sandbox, size: int) -> None:
    pieces = parts_of(size, 2 if size >= 10 * MiB else 1)
    asset_id, urls = new_upload(side, size, parts=len(pieces))
    for url, body in zip(urls, pieces, strict=True):
        assert put(url, body).status_code == 200
    assert assembled(side, asset_id) == sha(*pieces)


def test_multipart_upload_size_too_small(side: Sandbox) -> None:
    """Part 1 sent with 100 KiB (the rest in part 2): every part but the last under 5 MiB is EntityTooSmall."""
    size = 10 * MiB + 2
    data = os.urandom(size)
    asset_id, urls = new_upload(side, size, parts=2)
    assert put(urls[0], data[: 100 * 1024]).status_code == 200
    assert put(urls[1], data[100 * 1024 :]).status_code == 200
    asset = side.wait_for_asset(asset_id, 60)
    assert asset.status == "failed" and "EntityTooSmall" in (asset.error or "")


def test_multipart_upload_missing_part(side: Sandbox) -> None:
    """Ceph completes with a part never sent (400 InvalidPart). The sandbox completes only once every part is
    in: with part 2 missing the asset stays open, and nothing is assembled."""
    one, two, three = parts_of(15 * MiB, 3)
    asset_id, urls = new_upload(side, 15 * MiB, parts=3)
    assert put(urls[0], one).status_code == 200 and put(urls[2], three).status_code == 200
    with pytest.raises(TimeoutError):
        side.wait_for_asset(asset_id, 1.5)
    detail = side.asset_detail(asset_id) or {}
    assert [p["received"] for p in detail["parts"]] == [True, False, True]
    assert put(urls[1], two).status_code == 200
    assert assembled(side, asset_id) == sha(one, two, three)


def test_multipart_upload_incorrect_etag(side: Sandbox) -> None:
    """Ceph completes with a wrong ETag (400 InvalidPart). Here the sandbox completes with the ETags the store
    listed, never the device's; what carries over is the ETag a part PUT answers: the MD5 of the bytes stored,
    which is what lets a device notice a part damaged on the way."""
    body = os.urandom(1000)
    _, [url] = new_upload(side, 1000)
    answer = put(url, body)
    assert answer.headers["ETag"].strip('"') == hashlib.md5(body, usedforsecurity=False).hexdigest()


def test_multipart_resend_first_finishes_last(side: Sandbox) -> None:
    """Part 1 is sent twice; the first attempt stalls mid-body, the second and part 2 complete the upload, and
    only then does the first attempt finish: it is refused (404 NoSuchUpload), and the original keeps the
    second attempt's bytes."""
    one, two = parts_of(10 * MiB, 2)
    asset_id, urls = new_upload(side, 10 * MiB, parts=2)
    target = urlsplit(urls[0])
    slow = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    slow.putrequest("PUT", f"{target.path}?{target.query}", skip_accept_encoding=True)
    for name, value in (*SIGNED.items(), ("Content-Length", str(len(one)))):
        slow.putheader(name, value)
    slow.endheaders()
    stale = os.urandom(len(one))
    slow.send(stale[: len(stale) // 2])
    try:
        assert put(urls[0], one).status_code == 200 and put(urls[1], two).status_code == 200
        assert assembled(side, asset_id) == sha(one, two)
        slow.send(stale[len(stale) // 2 :])
        late = slow.getresponse()
        assert late.status == 404 and code(late.read().decode()) == "NoSuchUpload"
    finally:
        slow.close()
    assert side.wait_for_asset(asset_id, 5).sha256 == sha(one, two)


# -- atomic writes (test_s3.py) -----------------------------------------------------------------------------


def test_atomic_write_1mb(side: Sandbox) -> None:
    """While parts are arriving there is no original; once there, it is whole (never a part of it)."""
    one, two = parts_of(10 * MiB + 1, 2)
    asset_id, urls = new_upload(side, 10 * MiB + 1, parts=2)
    assert put(urls[0], one).status_code == 200
    with pytest.raises(LookupError):
        side.asset_bytes(asset_id)
    assert put(urls[1], two).status_code == 200
    assembled(side, asset_id)
    assert side.asset_bytes(asset_id) == one + two


def test_atomic_dual_write_1mb(side: Sandbox) -> None:
    """The same part sent twice at once with different bytes: the original has one of them whole."""
    one, two = parts_of(10 * MiB, 2)
    other = os.urandom(len(one))
    asset_id, urls = new_upload(side, 10 * MiB, parts=2)
    answers: list[int] = []
    writers = [threading.Thread(target=lambda b=b: answers.append(put(urls[0], b).status_code)) for b in (one, other)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    assert answers == [200, 200]
    assert put(urls[1], two).status_code == 200
    assert assembled(side, asset_id) in (sha(one, two), sha(other, two))
