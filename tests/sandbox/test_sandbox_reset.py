"""The sandbox page's housekeeping: Reset (delete every asset and its files), players only for playable media,
and its icon."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests

from c2c_helpers import C2CClient, upload_file
from c2c_sandbox import Sandbox
from c2c_sandbox.api.page import plays_in_browser
from c2c_sandbox.remote import RemoteSandbox


def upload(sb: Sandbox, tmp_path: Path, name: str, filetype: str, size: int = 1024) -> str:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    client = C2CClient(sb.api_url, sb.access_token, controls=sb)
    return upload_file(path, client=client, filetype=filetype, wait=True).asset.id


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def test_clear_assets_deletes_assets_and_files_but_keeps_devices_and_tokens(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb = fresh_sandbox
    done = upload(sb, tmp_path, "a.mp4", "video/mp4")
    half = C2CClient(sb.api_url, sb.access_token).create_asset("b.mp4", "video/mp4", 10, 0, parts=1)
    assert files_under(sb.data_dir / "originals")
    devices = sb.store.devices()

    assert sb.clear_assets() == 2
    assert sb.store.assets() == [] and sb.tree() == []
    assert sb.asset_detail(done) is None and sb.asset_detail(half.id) is None
    assert files_under(sb.data_dir / "originals") == [] and files_under(sb.data_dir / "parts") == []
    assert sb.store.devices() == devices
    assert C2CClient(sb.api_url, sb.access_token).me()  # the token still works
    assert upload(sb, tmp_path, "c.mp4", "video/mp4")  # and uploads go on
    assert RemoteSandbox(sb.api_url).clear_assets() == 1
    assert sb.store.assets() == []


def test_the_page_s_reset_form_needs_its_csrf_token(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    sb = fresh_sandbox
    upload(sb, tmp_path, "a.mp4", "video/mp4")
    page = requests.get(f"{sb.api_url}/", timeout=5).text
    assert 'action="/sandbox/assets/clear"' in page and "Reset" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    forged = requests.post(f"{sb.api_url}/sandbox/assets/clear", data={"csrf_token": "guess"}, timeout=5)
    assert forged.status_code == 403 and len(sb.store.assets()) == 1
    cleared = requests.post(f"{sb.api_url}/sandbox/assets/clear", data={"csrf_token": token.group(1)}, timeout=5)
    assert cleared.status_code == 200 and cleared.history[0].status_code == 303
    assert "Deleted 1 asset and their files" in cleared.text and "No assets yet" in cleared.text
    assert sb.store.assets() == []


@pytest.mark.parametrize(
    ("filetype", "playable"),
    [
        ("video/mp4", True),
        ("video/webm", True),
        ("audio/mpeg", True),
        ("audio/wav", True),
        ("audio/mp4", True),
        ("video/quicktime", False),
        ("video/x-msvideo", False),
        ("application/mxf", False),
        ("image/x-canon-cr3", False),
    ],
)
def test_what_the_browser_plays(filetype: str, playable: bool) -> None:
    assert plays_in_browser(filetype) is playable


def test_players_only_for_media_the_browser_plays(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    sb = fresh_sandbox
    ids = {
        "video/mp4": upload(sb, tmp_path, "a.mp4", "video/mp4"),
        "video/quicktime": upload(sb, tmp_path, "b.mov", "video/quicktime"),
        "audio/wav": upload(sb, tmp_path, "c.wav", "audio/wav"),
        "application/pdf": upload(sb, tmp_path, "d.pdf", "application/pdf"),
    }
    tree = requests.get(f"{sb.api_url}/sandbox/tree", timeout=5).text
    items = {}
    for kind, asset_id in ids.items():
        item = tree.split(f'data-asset-id="{asset_id}"', 1)[1]
        items[kind] = item.split('class="asset"', 1)[0]
    assert "<video" in items["video/mp4"]
    assert "<video" not in items["video/quicktime"] and "download the original" in items["video/quicktime"]
    assert "browsers do not play video/quicktime" in items["video/quicktime"]
    assert "<audio" in items["audio/wav"]
    assert "<video" not in items["application/pdf"] and "<audio" not in items["application/pdf"]


def test_the_page_has_an_icon(sandbox: Sandbox) -> None:
    assert '<link rel="icon" href="/favicon.ico"' in requests.get(f"{sandbox.api_url}/", timeout=5).text
    icon = requests.get(f"{sandbox.api_url}/favicon.ico", timeout=5)
    assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
