"""Secrets stay secret, devices stay apart, the sandbox stays on loopback and inside its data dir.

What is already covered elsewhere, and not repeated here: expired and revoked tokens get 401
(``test_sandbox_api.py``, ``test_auth.py``), refresh tokens are single use (both), another device's asset is
404 over raw HTTP (``test_sandbox_api.py``), tampered, swapped and expired part URLs are refused
(``test_sandbox_s3.py``), the client's own logs during a failing upload (``test_upload.py``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from c2c_helpers import (
    APIError,
    C2CClient,
    DeviceCode,
    PartUploadError,
    RetryPolicy,
    Tokens,
    pair_client,
    upload_file,
)
from c2c_helpers.resume import Manifest
from c2c_helpers.tools.cli import main
from c2c_sandbox import Sandbox
from c2c_sandbox.cli import build_parser as sandbox_parser

ROOT = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(max_attempts=2, initial_delay=0.001, max_delay=0.002)

#: What a leaked secret looks like in text: a presigned URL's signature or credential, a bearer token, and a
#: credential field with a real-looking value (``<redacted>`` and ``$VARIABLE`` do not match). A bare AWS
#: access key id (``AKIA...``, which S3 itself puts in a SignatureDoesNotMatch body) is an identifier, not a
#: secret, and is not flagged; the sandbox's secret key and tokens are checked literally where they are known.
LEAK_PATTERNS = {
    "presigned signature": re.compile(r"X-Amz-Signature=[0-9a-f]{16}"),
    "presigned credential": re.compile(r"X-Amz-Credential=AKIA"),
    "bearer token": re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/-]{16,}"),
    "credential field": re.compile(
        r"""(?i)["']?\b(?:access_token|refresh_token|client_secret|device_code)["']?\s*[:=]\s*["']?[A-Za-z0-9_-]{16,}"""
    ),
}


def leaks(text: str) -> list[str]:
    return [name for name, pattern in LEAK_PATTERNS.items() if pattern.search(text)]


def signatures(urls: Any) -> list[str]:
    return [u.split("X-Amz-Signature=")[1] for u in urls]


def assert_clean(text: str, secrets: list[str]) -> None:
    found = [s[:6] + "..." for s in secrets if s and s in text]
    assert not found, f"secrets in the output: {found}"
    assert not leaks(text), leaks(text)


# -- logs, reprs, errors: pairing, refresh, renewal after 401, uploads ---------------------------------------


def test_debug_logs_reprs_and_errors_of_a_whole_session_carry_no_secret(
    sandbox: Sandbox, make_file: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, requests/urllib3, the sandbox's
    codes: list[DeviceCode] = []
    tokens: list[Tokens] = []

    def approve(code: DeviceCode) -> None:
        codes.append(code)
        sandbox.approve(code.user_code)

    client_id = f"SN-sec-{uuid.uuid4().hex[:8]}"
    client = pair_client(sandbox.api_url, client_id, sandbox.client_secret, show_code=approve,
                            on_tokens=tokens.append)  # fmt: skip
    client.refresh()
    sandbox.expire_token(client.token)
    client.me()  # 401, renewed with the refresh token, repeated
    assert len(tokens) == 3 and "renewing it with the refresh token" in caplog.text

    path = make_file()
    sandbox.faults.inject("slow_down", part=1, times=1)
    done = upload_file(path, client=client, parts=2, retry=FAST, resume=tmp_path / "ok.json")
    sandbox.faults.inject("internal_error", part=2, times=10)
    manifest = tmp_path / "failing.json"
    with pytest.raises(PartUploadError) as info:
        upload_file(path, client=client, parts=2, workers=1, retry=FAST, resume=manifest)
    err = info.value
    saved = Manifest.load(manifest)
    assert saved is not None and "retrying in" in caplog.text and "PUT /" in caplog.text  # urllib3 spoke too

    secrets = [
        *(t.access_token for t in tokens), *(t.refresh_token or "" for t in tokens), sandbox.client_secret,
        *(c.device_code for c in codes), sandbox.signer.access_key, sandbox.signer.credentials.secret_key,
        *signatures(saved.upload_urls), *signatures(err.asset.upload_urls),
    ]  # fmt: skip
    shown = "\n".join(
        [caplog.text, *(r.getMessage() for r in caplog.records), str(err), repr(err), *err.__notes__]
        + [repr(x) for x in (err.asset, client, saved, done, done.asset, *tokens, *codes, sandbox)]
        + [err.url or "", json.dumps(err.asset.redacted_json())]
    )
    assert_clean(shown, secrets)
    assert sandbox.access_token not in manifest.read_text() and client.token not in manifest.read_text()


def test_cli_output_of_a_failing_upload_carries_no_secret(
    sandbox: Sandbox,
    make_file: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("C2C_API_URL", sandbox.api_url)
    monkeypatch.setenv("C2C_ACCESS_TOKEN", sandbox.access_token)
    sandbox.faults.inject("internal_error", part=2, times=10)
    manifest = tmp_path / "cli.json"
    assert main(["upload", str(make_file()), "--parts", "2", "--attempts", "2", "--resume", str(manifest)]) == 1
    out, err = capsys.readouterr()
    assert "part 2: 500 InternalError" in err and "%" in err  # the error, after a progress bar
    assert f"progress is saved in {manifest}" in err
    saved = Manifest.load(manifest)
    assert saved is not None
    assert_clean(out + err, [sandbox.access_token, *signatures(saved.upload_urls)])

    monkeypatch.setenv("C2C_ACCESS_TOKEN", "a-wrong-token-that-must-not-be-echoed")
    assert main(["upload", str(make_file()), "--no-progress"]) == 1
    out, err = capsys.readouterr()
    assert "401" in err and "a-wrong-token-that-must-not-be-echoed" not in out + err


def test_the_web_page_and_the_sandbox_views_show_no_secret(sandbox: Sandbox, make_file: Callable[..., Path]) -> None:
    base = sandbox.api_url
    with C2CClient(base, sandbox.access_token, controls=sandbox) as client:
        done = upload_file(make_file(), client=client, parts=2)
        pending = client.create_asset("pending.mov", "video/quicktime", 6 * 1024 * 1024, 0, parts=1)
    code = requests.post(f"{base}/v2/auth/device/code", timeout=5,
                         data={"client_id": "SN-page-sec", "client_secret": sandbox.client_secret,
                               "scope": "asset_create offline"}).json()  # fmt: skip
    pages = {
        path: requests.get(base + path, timeout=10).text
        for path in ("/", f"/pair?code={code['user_code']}", "/sandbox/tree", "/sandbox/state", "/sandbox/faults",
                     f"/sandbox/assets/{done.asset.id}", f"/sandbox/assets/{pending.id}")
    }  # fmt: skip
    assert pending.id in pages["/"] and code["user_code"] in pages[f"/pair?code={code['user_code']}"]
    secrets = [
        sandbox.access_token, sandbox.refresh_token, sandbox.client_secret, code["device_code"],
        sandbox.signer.access_key, sandbox.signer.credentials.secret_key, *signatures(pending.upload_urls),
    ]  # fmt: skip
    for path, text in pages.items():
        assert "X-Amz-" not in text, path
        assert_clean(text, secrets)


# -- committed notebook outputs ------------------------------------------------------------------------------


def notebook_text(notebook: dict[str, Any]) -> str:
    """Every output and every saved widget state of a notebook, as text (images left out)."""
    chunks: list[str] = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            if "text" in output:
                chunks.append("".join(output["text"]) if isinstance(output["text"], list) else output["text"])
            for mime, value in output.get("data", {}).items():
                if not mime.startswith("image/"):
                    chunks.append(value if isinstance(value, str) else json.dumps(value))
            chunks.extend(output.get("traceback", []))
    chunks.append(json.dumps(notebook.get("metadata", {}).get("widgets", {})))
    return "\n".join(chunks)


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_outputs_carry_no_secret(path: Path) -> None:
    found = leaks(notebook_text(json.loads(path.read_text(encoding="utf-8"))))
    assert not found, f"{path.name}: {found} in the committed outputs"


def test_the_notebook_scanner_finds_each_kind_of_leak() -> None:
    """The scan above passes with no notebook at all; this proves it would catch a leak if there were one."""
    planted = {
        "presigned signature": "PUT http://h/b/k?partNumber=1&X-Amz-Signature=3f1c0a9be4d2c7aa59e1b2c3d4e5f607",
        "presigned credential": "http://h/b/k?X-Amz-Credential=AKIA0123456789ABCDEF%2F20260101",
        "bearer token": "Authorization: Bearer Zk3q9xQ0b1Yy7Lw2Vn8Ts5Rm4Pj6Hc0",
        "credential field": '{"refresh_token": "9f1c2e44-1b7a-4c9e-8f00-2b1d3c4e5f60"}',
    }
    for kind, text in planted.items():
        notebook = {"cells": [{"outputs": [{"output_type": "stream", "text": ["ok\n", text]}]}]}
        assert kind in leaks(notebook_text(notebook)), kind
    in_widget = {"cells": [], "metadata": {"widgets": {"state": {"m": {"value": planted["bearer token"]}}}}}
    assert leaks(notebook_text(in_widget))
    clean = [
        "curl -H 'Authorization: Bearer $C2C_ACCESS_TOKEN'",
        "Authorization: Bearer <redacted>",
        "PUT http://127.0.0.1:8765/b/k?partNumber=1&uploadId=u1&<signature redacted>",
        '{"access_token": "<redacted>", "token_type": "bearer"}',
    ]
    assert not leaks(notebook_text({"cells": [{"outputs": [{"text": "\n".join(clean)}]}]}))


# -- devices apart -------------------------------------------------------------------------------------------


@pytest.fixture
def stranger(sandbox: Sandbox) -> Iterator[C2CClient]:
    """A client for a second paired device of the same sandbox."""
    device = sandbox.store.ensure_device(f"SN-stranger-{uuid.uuid4().hex[:6]}", "Stranger Cam", "Sandbox Project")
    token, _ = sandbox.store.issue_tokens(device.id, "asset_create offline", 3600, 3600)
    with C2CClient(sandbox.api_url, token) as client:
        yield client


def test_upload_urls_are_handed_only_to_the_device_that_created_the_asset(
    sandbox: Sandbox, client: C2CClient, stranger: C2CClient
) -> None:
    """What isolation means for parts: a presigned URL is a capability (whoever holds it can PUT that one part
    until it expires, no token involved, as on S3), so devices are kept apart by never handing a URL to
    anyone but the creator, once: the create answer carries them, and no device can read an asset back (C2C is
    "write, but don't read": the same 403 for its own asset, another's, or none, so another device cannot even
    learn that an id exists), and a URL cannot be bent to another upload or part
    (``test_sandbox_s3.py::test_tampered_urls_are_refused``)."""
    mine = client.create_asset("mine.mov", "video/quicktime", 6 * 1024 * 1024, 0, parts=1)
    assert len(mine.upload_urls) == 1
    theirs = stranger.create_asset("theirs.mov", "video/quicktime", 6 * 1024 * 1024, 0, parts=1)
    assert mine.upload_urls[0].split("?")[0] != theirs.upload_urls[0].split("?")[0]
    answers = []
    for who, asset_id in ((client, mine.id), (stranger, mine.id), (client, theirs.id), (client, "0" * 36)):
        read = requests.get(f"{sandbox.api_url}/v2/assets/{asset_id}", headers={"Authorization": f"Bearer {who.token}"},
                            timeout=5)  # fmt: skip
        assert read.status_code == 403 and "upload_urls" not in read.text and asset_id not in read.text
        answers.append(read.json())
    assert all(answer == answers[0] for answer in answers)


# -- loopback and the data dir -------------------------------------------------------------------------------


def test_the_sandbox_listens_on_loopback_only_by_default(sandbox: Sandbox) -> None:
    assert sandbox_parser("c2c sandbox").parse_args([]).host == "127.0.0.1"  # the command line's default too
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=2):
        pass
    # 127.0.0.2 is this machine as well: a server bound to every address would accept it; ours refuses.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", sandbox.port), timeout=2):
        pass


ESCAPING_NAMES = [
    "../../escaped.mov",
    "../sandbox.sqlite3",
    "/tmp/absolute.mov",
    "..\\..\\windows.mov",
    "%2e%2e%2fencoded.mov",
    "originals/../../up.mov",
    "~/home.mov",
    "é" * 255,  # 510 bytes in UTF-8: too long for a file name on most file systems
]


def test_asset_names_cannot_escape_the_data_dir(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    sb, data = fresh_sandbox, fresh_sandbox.data_dir
    source = tmp_path / "payload" / "clip.mov"
    source.parent.mkdir()
    source.write_bytes(b"frame" * 1000)
    ids = []
    with C2CClient(sb.api_url, sb.access_token, controls=sb) as client:  # (controls: upload_file waits)
        for name in ESCAPING_NAMES:
            ids.append(upload_file(source, client=client, name=name).asset.id)  # stored as a display name
            assert sb.asset_detail(ids[-1])["name"] == name
        for bad in ("nul\x00byte.mov", "x" * 256, "line\nbreak.mov"):
            with pytest.raises(APIError) as info:
                client.create_asset(bad, "video/quicktime", 5000, 0)
            assert info.value.status == 400
    assert len(sb.store.assets()) == len(ESCAPING_NAMES)
    # Originals are stored by asset id, and nothing else appeared anywhere.
    assert sorted(p.name for p in (data / "originals").iterdir()) == sorted(ids)
    assert {p.relative_to(data).as_posix() for p in data.iterdir()} <= {
        "originals", "parts", "sandbox.lock", "sandbox.sqlite3", "sandbox.sqlite3-wal", "sandbox.sqlite3-shm",
    }  # fmt: skip
    assert not any((data / "parts").iterdir())  # assembled: no part left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payload", "sandbox"]
    assert [p.name for p in source.parent.iterdir()] == ["clip.mov"]
    for name in ("escaped.mov", "absolute.mov", "up.mov", "home.mov"):
        assert not list(Path("/tmp").glob(name)) and not list(data.parent.parent.glob(name))
    # And the route that serves originals takes only ids.
    for probe in ("..%2Fsandbox.sqlite3", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "sandbox.sqlite3"):
        response = requests.get(f"{sb.api_url}/sandbox/assets/{probe}/original", timeout=5)
        assert response.status_code == 404 and b"SQLite" not in response.content


# -- the data dir: owner only --------------------------------------------------------------------------------


def modes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix() or ".": p.stat().st_mode & 0o777 for p in [root, *root.rglob("*")]}


def upload_bytes(sb: Sandbox, data: bytes, filetype: str = "video/mp4", name: str = "clip.mp4") -> str:
    asset = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": name, "filetype": filetype, "filesize": len(data), "offset": 0, "parts": 1},
        headers={"Authorization": f"Bearer {sb.access_token}"},
        timeout=10,
    ).json()
    put = requests.put(
        asset["upload_urls"][0], data=data, headers={"Content-Type": filetype, "x-amz-acl": "private"}, timeout=10
    )
    assert put.status_code == 200, put.text
    assert sb.wait_for_asset(asset["id"]).status == "complete"
    return str(asset["id"])


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_data_dir_is_readable_by_its_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """The database holds the client secret and the S3 signing key in the clear (they must be used, not just
    compared): a 0700 dir with 0600 files keeps them, and the uploaded media, from other local users."""
    before = os.umask(umask)
    try:
        with Sandbox(data_dir=tmp_path / "sb") as sb:
            upload_bytes(sb, b"x" * 1000)
            pending = requests.post(
                f"{sb.api_url}/v2/devices/assets",
                json={"name": "p.mp4", "filetype": "video/mp4", "filesize": 12 * 1024 * 1024, "offset": 0, "parts": 2},
                headers={"Authorization": f"Bearer {sb.access_token}"},
                timeout=10,
            ).json()
            requests.put(pending["upload_urls"][0], data=b"y" * (6 * 1024 * 1024),
                         headers={"Content-Type": "video/mp4", "x-amz-acl": "private"}, timeout=10)  # fmt: skip
            found = modes(sb.data_dir)
    finally:
        os.umask(before)
    assert {"sandbox.sqlite3", "sandbox.sqlite3-wal", "sandbox.sqlite3-shm", "sandbox.lock"} <= set(found)
    assert any(name.startswith("parts/") and not name.endswith(pending["id"]) for name in found)  # a part on disk
    assert any(name.startswith("originals/") for name in found)
    loose = {name: oct(mode) for name, mode in found.items() if mode & 0o077}
    assert not loose, f"reachable by others: {loose}"
    assert found["."] == 0o700 and found["sandbox.sqlite3"] == 0o600


def test_a_loose_data_dir_is_tightened_on_start(tmp_path: Path) -> None:
    data = tmp_path / "sb"
    with Sandbox(data_dir=data) as sb:
        asset = upload_bytes(sb, b"z" * 1000)
        secret_key = sb.signer.credentials.secret_key
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # as an earlier version left it
    with Sandbox(data_dir=data) as sb:
        assert sb.signer.credentials.secret_key == secret_key  # the same data dir, its state intact
        assert sb.asset_bytes(asset) == b"z" * 1000
        loose = {name: oct(mode) for name, mode in modes(data).items() if mode & 0o077}
    assert not loose, loose


# -- originals: never a page in the sandbox's origin --------------------------------------------------------


@pytest.mark.parametrize(
    ("filetype", "inline"),
    [("text/html", False), ("image/svg+xml", False), ("application/xhtml+xml", False), ("text/plain", False),
     ("application/octet-stream", False), ("video/mp4", True), ("audio/wav", True), ("image/png", True)],
)  # fmt: skip
def test_originals_are_attachments_unless_playable_media(sandbox: Sandbox, filetype: str, inline: bool) -> None:
    body = b"<html><script>fetch('/sandbox/faults', {method: 'POST'})</script></html>"
    asset = upload_bytes(sandbox, body, filetype, name="page.html")
    response = requests.get(f"{sandbox.api_url}/sandbox/assets/{asset}/original", timeout=5)
    assert response.status_code == 200 and response.content == body
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline" if inline else "attachment"), disposition


# -- the controls and the page: loopback Host, own Origin, CSRF on forms --------------------------------------


def control(sb: Sandbox, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{sb.api_url}{path}", timeout=5, allow_redirects=False, **kwargs)


@pytest.mark.parametrize("path", ["/", "/pair", "/sandbox/state", "/sandbox/tree", "/sandbox/faults"])
def test_the_controls_and_the_page_answer_only_to_a_loopback_host(sandbox: Sandbox, path: str) -> None:
    """DNS rebinding: a page at evil.example re-pointed to 127.0.0.1 sends Host: evil.example:<port>."""
    port = sandbox.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert control(sandbox, "GET", path, headers={"Host": host}).status_code == 200, host
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", f"localhost.evil.example:{port}",
                 f"127.0.0.1.nip.io:{port}", ""):  # fmt: skip
        response = control(sandbox, "GET", path, headers={"Host": host})
        assert response.status_code == 403 and "DNS rebinding" in response.json()["errors"][0]["detail"], host
    refused = control(sandbox, "POST", "/sandbox/faults", json={"kind": "drop"}, headers={"Host": "evil.example"})
    assert refused.status_code == 403 and sandbox.faults.pending() == []


def test_the_c2c_api_and_part_puts_answer_to_any_host(sandbox: Sandbox) -> None:
    """Devices reach Frame.io and S3 by their real names: no Host check there (tokens and signatures guard)."""
    headers = {"Host": "api.frame.io", "Authorization": f"Bearer {sandbox.access_token}"}
    assert control(sandbox, "GET", "/v2/devices/me", headers=headers).status_code == 200
    assert control(sandbox, "GET", "/health", headers={"Host": "api.frame.io"}).status_code == 200


def test_cross_site_requests_to_the_controls_are_refused(sandbox: Sandbox) -> None:
    own = sandbox.api_url
    for origin in ("http://evil.example", "null", f"http://localhost:{sandbox.port + 1}", own.replace("http", "https")):
        response = control(sandbox, "POST", "/sandbox/faults", json={"kind": "drop"}, headers={"Origin": origin})
        assert response.status_code == 403 and "Origin" in response.json()["errors"][0]["detail"], origin
        assert control(sandbox, "POST", "/sandbox/reset", headers={"Origin": origin}).status_code == 403
    assert sandbox.faults.pending() == []
    same = control(sandbox, "POST", "/sandbox/faults", json={"kind": "drop"}, headers={"Origin": own})
    assert same.status_code == 200  # the page's own fetch
    assert control(sandbox, "POST", "/sandbox/faults", json={"kind": "drop"}).status_code == 200  # scripts: no Origin


def test_forms_need_the_page_s_csrf_token(sandbox: Sandbox) -> None:
    """What a cross-site HTML form can send (urlencoded, multipart, text/plain) needs the page's token."""
    for kwargs in ({"data": {"kind": "drop"}}, {"files": {"kind": (None, "drop")}},
                   {"data": '{"kind": "drop"}', "headers": {"Content-Type": "text/plain"}},
                   {"data": {"kind": "drop", "csrf_token": "guess"}}):  # fmt: skip
        response = control(sandbox, "POST", "/sandbox/faults", **kwargs)
        assert response.status_code == 403 and "CSRF" in response.text, kwargs
    assert sandbox.faults.pending() == []
    token = re.search(r'name="csrf_token" value="([^"]+)"', control(sandbox, "GET", "/").text)
    assert token is not None
    ok = control(sandbox, "POST", "/sandbox/faults", data={"kind": "drop", "csrf_token": token.group(1)})
    assert ok.status_code == 200 and sandbox.faults.pending()[0]["kind"] == "drop"
    page = control(sandbox, "GET", "/")
    assert (
        page.headers["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    )


def test_a_stale_pairing_form_says_to_reload(sandbox: Sandbox) -> None:
    response = control(sandbox, "POST", "/sandbox/pair", data={"user_code": "123456", "csrf_token": "old"},
                       headers={"Accept": "text/html"})  # fmt: skip
    assert response.status_code == 403 and 'role="alert"' in response.text and "reload the page" in response.text


# -- beyond loopback only when told -------------------------------------------------------------------------


ANY = "0.0.0.0"  # noqa: S104 - every interface: what the refusal is about


def test_a_non_loopback_host_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from c2c_sandbox.cli import _start
    from c2c_sandbox.server import RemoteHostRefused

    for host in (ANY, "::", "192.0.2.1", "example.com"):
        with pytest.raises(RemoteHostRefused, match="no authentication"):
            Sandbox(host=host, data_dir=tmp_path / "x")
    args = sandbox_parser("c2c sandbox").parse_args(["--host", ANY, "--port", "0", "--data-dir", str(tmp_path)])
    assert _start("c2c sandbox", args) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no authentication" in err and "--i-know" in err
    args = sandbox_parser("c2c sandbox").parse_args(["--host", ANY, "--port", "0", "--data-dir", str(tmp_path),
                                                     "--i-know"])  # fmt: skip
    sb = _start("c2c sandbox", args)
    assert sb is not None
    try:
        assert "warning" in capsys.readouterr().err
        assert requests.get(f"{sb.api_url}/sandbox/state", timeout=5).status_code == 200
        # Listening beyond loopback, the controls also answer to IP literals (rebinding needs a name).
        ip = requests.get(f"{sb.api_url}/sandbox/state", headers={"Host": f"192.0.2.7:{sb.port}"}, timeout=5)
        assert ip.status_code == 200
        name = requests.get(f"{sb.api_url}/sandbox/state", headers={"Host": f"evil.example:{sb.port}"}, timeout=5)
        assert name.status_code == 403
    finally:
        sb.stop()
