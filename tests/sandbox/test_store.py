"""The sandbox with its part bytes in a real S3-compatible store (SeaweedFS's ``weed mini``, the test extra).

The C2C API, the device and its tokens stay in the sandbox; the upload URLs are the store's own presigned URLs,
the device PUTs to the store, and the sandbox learns from the store which parts arrived and has it assemble the
original. Every upload here is checked byte for byte at the store (its ``get_object``), not at the sandbox.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from c2c_helpers import C2CClient, ProgressEvent, UploadInterrupted, upload_file
from c2c_helpers.lab.recording import start_recording
from c2c_helpers.realtime.upload import upload_growing_file
from c2c_sandbox import Sandbox
from c2c_sandbox.s3.bucket import Bucket
from c2c_sandbox.s3.storeparts import store_key
from c2c_sandbox.s3.weed import WeedMini

pytestmark = [pytest.mark.xdist_group("store"), pytest.mark.slow]

MiB = 1024 * 1024
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def bucket(weed_store: WeedMini) -> Bucket:
    """The store's bucket, read through botocore: what the store itself holds."""
    return Bucket(
        f"{weed_store.url}/{weed_store.bucket}", access_key=weed_store.access_key, secret_key=weed_store.secret_key
    )


@pytest.fixture
def store_client(store_sandbox: Sandbox) -> C2CClient:
    return C2CClient(store_sandbox.api_url, store_sandbox.access_token, controls=store_sandbox)


def at_store(bucket: Bucket, asset_id: str) -> str:
    """The SHA-256 of the original as the store holds it."""
    return bucket.sha256(store_key(asset_id))[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_upload_urls_are_the_store_s_own_presigned_urls(store_sandbox: Sandbox, weed_store: WeedMini) -> None:
    answer = requests.post(
        f"{store_sandbox.api_url}/v2/devices/assets",
        json={"name": "a.mp4", "filetype": "video/mp4", "filesize": 11 * MiB, "offset": 0},
        headers={"x-client-version": "2.0.0", "Authorization": f"Bearer {store_sandbox.access_token}"},
        timeout=10,
    ).json()
    url = answer["upload_urls"][0]
    assert url.startswith(f"{weed_store.url}/{weed_store.bucket}/parts/")
    assert "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-acl" in url and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    body = b"x" * (5 * MiB)
    wrong = requests.put(
        url, data=body, headers={"content-type": "video/quicktime", "x-amz-acl": "private"}, timeout=30
    )
    assert wrong.status_code == 403 and "SignatureDoesNotMatch" in wrong.text  # the store's own check
    right = requests.put(url, data=body, headers={"content-type": "video/mp4", "x-amz-acl": "private"}, timeout=30)
    assert (
        right.status_code == 200
        and right.headers["ETag"].strip('"') == hashlib.md5(body, usedforsecurity=False).hexdigest()
    )


def test_upload_file_arrives_byte_identical_at_the_store(
    store_sandbox: Sandbox, store_client: C2CClient, bucket: Bucket, make_file: Callable[..., Path]
) -> None:
    path = make_file("take-01.mov", size=23 * MiB + 17)
    result = upload_file(path, client=store_client, workers=4)
    asset = store_sandbox.wait_for_asset(result.asset.id, 60)
    assert asset.status == "complete", asset.error
    assert asset.sha256 == sha256(path) == at_store(bucket, asset.id)
    assert store_sandbox.asset_bytes(asset.id) == path.read_bytes()  # the copy the page serves, from the store


def test_the_guide_s_curl_flow_arrives_byte_identical_at_the_store(
    store_sandbox: Sandbox, bucket: Bucket, make_file: Callable[..., Path], tmp_path: Path
) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    path = make_file("card/clip-02.mp4", size=12 * MiB + 3)
    env = {
        "C2C_CHECK_DIR": str(folder),
        "C2C_API_URL": store_sandbox.api_url,
        "C2C_ACCESS_TOKEN": store_sandbox.access_token,
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run(["bash", str(DATA / "curl_device.sh")], env=env, check=True, timeout=120)
    [asset] = [a for a in store_sandbox.store.assets() if a.name == "clip-02.mp4"]
    asset = store_sandbox.wait_for_asset(asset.id, 60)
    assert asset.status == "complete", asset.error
    assert asset.sha256 == sha256(path) == at_store(bucket, asset.id)


def test_an_interrupted_upload_resumes_with_only_the_missing_parts(
    store_sandbox: Sandbox, store_client: C2CClient, bucket: Bucket, make_file: Callable[..., Path], tmp_path: Path
) -> None:
    path, manifest = make_file("take-03.mov", size=21 * MiB), tmp_path / "take-03.json"

    def ctrl_c_after_part_1(event: ProgressEvent) -> None:
        if event.part == 1 and event.state == "done":
            raise KeyboardInterrupt

    with pytest.raises(UploadInterrupted):
        upload_file(path, client=store_client, parts=4, workers=1, resume=manifest, progress=ctrl_c_after_part_1)
    assert manifest.exists()
    result = upload_file(path, client=store_client, workers=2, resume=manifest)
    assert 1 in result.resumed and not manifest.exists()
    asset = store_sandbox.wait_for_asset(result.asset.id, 60)
    assert asset.status == "complete", asset.error
    assert asset.sha256 == sha256(path) == at_store(bucket, asset.id)


def test_a_real_time_upload_arrives_byte_identical_at_the_store(
    store_sandbox: Sandbox, store_client: C2CClient, bucket: Bucket, tmp_path: Path
) -> None:
    path = tmp_path / "live.mp4"
    recording = start_recording(path, size=16 * MiB + 7, rate=64 * MiB)
    result = upload_growing_file(path, client=store_client, part_size=5 * MiB, done=recording.done)
    recording.wait(10)
    asset = store_sandbox.wait_for_asset(result.asset_id, 60)
    assert asset.status == "complete", asset.error
    assert asset.sha256 == recording.sha256 == at_store(bucket, asset.id)


def test_c2c_upload_no_verify_against_the_store(
    store_sandbox: Sandbox, bucket: Bucket, make_file: Callable[..., Path]
) -> None:
    path = make_file("take-04.mov", size=11 * MiB)
    env = {
        "C2C_API_URL": store_sandbox.api_url,
        "C2C_ACCESS_TOKEN": store_sandbox.access_token,
        "PATH": "/usr/bin:/bin",
    }
    command = [sys.executable, "-m", "c2c_helpers.tools.cli", "upload", str(path), "--no-progress", "--no-verify"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    [asset_id] = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", done.stdout))
    asset = store_sandbox.wait_for_asset(asset_id, 60)
    assert asset.sha256 == sha256(path) == at_store(bucket, asset_id)


@pytest.mark.parametrize(
    ("call", "refusal"),
    [
        (lambda sb: sb.faults.inject("internal_error"), "planning S3 faults"),
        (lambda sb: sb.set_network("set-wifi"), "network conditions"),
    ],
)
def test_what_needs_the_embedded_gateway_refuses_with_one_line(
    store_sandbox: Sandbox, call: Callable[[Sandbox], object], refusal: str
) -> None:
    with pytest.raises(ValueError, match="straight to the S3 store") as refused:
        call(store_sandbox)
    assert refusal in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sandbox/faults", {"kind": "internal_error"}),
        ("/sandbox/network", {"preset": "set-wifi"}),
        ("/sandbox/checks", {}),
    ],
)
def test_the_controls_that_need_the_gateway_refuse_over_http(store_sandbox: Sandbox, path: str, body: dict) -> None:
    answer = requests.post(f"{store_sandbox.api_url}{path}", json=body, timeout=10)
    assert answer.status_code in (400, 409)
    assert "straight to the S3 store" in answer.text


def test_a_store_url_with_no_credentials_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ValueError, match="no credentials for the S3 store"):
        Bucket("http://127.0.0.1:9/bucket")


def test_credentials_are_found_the_boto_way(
    monkeypatch: pytest.MonkeyPatch, weed_store: WeedMini, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", weed_store.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", weed_store.secret_key)
    host = urlsplit(weed_store.url).netloc
    with Sandbox(data_dir=tmp_path / "sb", s3=f"http://{host}/env-bucket") as sb:
        assert sb.bucket == "env-bucket"


def test_c2c_sandbox_s3_announces_the_store_and_refuses_network_conditions_in_one_line(
    weed_store: WeedMini, tmp_path: Path
) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": weed_store.access_key,
        "AWS_SECRET_ACCESS_KEY": weed_store.secret_key,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    url = f"{weed_store.url}/{weed_store.bucket}"
    command = [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(tmp_path / "sb"), "--s3", url]
    refused = subprocess.run([*command, "--network", "set-wifi"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "network conditions" in refused.stderr and "straight to the S3 store" in refused.stderr
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as served:
        assert served.stdout is not None
        lines = [served.stdout.readline() for _ in range(7)]
        served.terminate()
        assert served.wait(30) == 0
    assert f"# parts: S3 store {url}\n" in lines


def test_make_store_prints_what_c2c_sandbox_s3_needs_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "c2c_sandbox.s3.weed", str(tmp_path / "store")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as served:
        assert served.stdout is not None
        lines = dict(line.strip().split("=", 1) for line in (served.stdout.readline() for _ in range(3)))
        bucket = Bucket(
            lines["C2C_S3_URL"], access_key=lines["AWS_ACCESS_KEY_ID"], secret_key=lines["AWS_SECRET_ACCESS_KEY"]
        )
        bucket.ensure()  # the bucket is there, and the identity may use it
        served.terminate()
        assert served.wait(30) == 0
    with pytest.raises(requests.ConnectionError):  # stopped: nothing listens there any more
        requests.get(lines["C2C_S3_URL"], timeout=5)


def test_c2c_fleet_against_the_store(weed_store: WeedMini, tmp_path: Path) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": weed_store.access_key,
        "AWS_SECRET_ACCESS_KEY": weed_store.secret_key,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    url, report = f"{weed_store.url}/{weed_store.bucket}", tmp_path / "fleet.json"
    command = [
        sys.executable,
        "-m",
        "c2c_helpers.tools.cli",
        "fleet",
        "--cameras",
        "3",
        "--clips",
        "1",
        "--clip-bytes",
        str(6 * MiB),
        "--s3",
        url,
        "--json",
        str(report),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    figures = json.loads(report.read_text())
    assert figures["failures"] == 0 and figures["total_bytes"] == 3 * 6 * MiB
