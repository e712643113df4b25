"""The notebook widgets, driven by a real upload to the sandbox (no kernel needed: ipywidgets works in pytest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from c2c_helpers import C2CClient, PartUploadError, RetryPolicy, upload_file
from c2c_helpers.lab.widgets import AssetForm, ChunkMap, UploadProgress
from c2c_helpers.pool import ProgressEvent
from c2c_sandbox import Sandbox

MiB = 1024 * 1024
FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
def client(sandbox: Sandbox) -> C2CClient:
    return C2CClient(sandbox.api_url, sandbox.access_token)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "A001_C002.mp4"
    path.write_bytes(os.urandom(11 * MiB))
    return path


def test_progress_panel_follows_a_real_upload_with_a_retry(sandbox: Sandbox, client: C2CClient, video: Path) -> None:
    panel = UploadProgress.for_file(video.stat().st_size, 2)
    seen: list[int] = []

    def spy(event: ProgressEvent) -> None:
        panel(event)
        assert panel.bytes_sent <= panel.total_size  # a retry never pushes the total past 100%
        seen.append(panel.bars[event.part - 1].value)

    sandbox.faults.inject("internal_error", part=2, times=1)
    result = upload_file(video, client=client, parts=2, workers=2, retry=FAST_RETRY, progress=spy)
    panel.finish(result)
    assert [b.value for b in panel.bars] == [c for c in panel.sizes]
    assert [b.bar_style for b in panel.bars] == ["success", "success"] and panel.total_bar.bar_style == "success"
    assert panel.total_bar.value == video.stat().st_size
    text = panel.text()
    assert (
        text.splitlines()[0] == f"upload: {video.stat().st_size:,} / {video.stat().st_size:,} bytes (100%), "
        "2 of 2 parts done"
    )
    assert "part 2:" in text and "1 retry" in text
    assert "MB/s" in panel.rate.value
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == text and "application/vnd.jupyter.widget-view+json" in bundle


def test_progress_panel_shows_a_failure(sandbox: Sandbox, client: C2CClient, video: Path) -> None:
    panel = UploadProgress.for_file(video.stat().st_size, 2)
    sandbox.faults.inject("slow_down", part=1, times=10)
    with pytest.raises(PartUploadError) as caught:
        upload_file(video, client=client, parts=2, workers=1, retry=FAST_RETRY, progress=panel)
    panel.fail(caught.value)
    assert panel.bars[0].bar_style == "danger" and "failed" in panel.text()
    assert "SlowDown" in panel.text()


def test_panel_refuses_parts_it_was_not_made_for() -> None:
    panel = UploadProgress([5])
    with pytest.raises(ValueError, match="this panel has 1 parts"):
        panel(ProgressEvent(part=2, part_bytes=1, part_size=5, bytes_sent=1, total=10, attempt=1, state="sending"))


def test_chunk_map_redraws_as_urls_change() -> None:
    chunk_map = ChunkMap(21_136_250, 2)
    assert chunk_map.bar.value.count("title='part") == 2
    chunk_map.urls.value = 5
    assert chunk_map.bar.value.count("title='part") == 5
    assert "ceil(21136250 / 5) = 4,227,250" in chunk_map.text()
    assert chunk_map._repr_mimebundle_()["text/plain"] == chunk_map.text()


def test_asset_form_is_prefilled_from_the_file_and_creates(sandbox: Sandbox, client: C2CClient, video: Path) -> None:
    os.utime(video, (video.stat().st_atime, video.stat().st_mtime - 30))
    created = []
    form = AssetForm(video, create=lambda body: created.append(client.create_asset(**body)) or created[-1])
    body = form.body()
    assert body["name"] == "A001_C002.mp4" and body["filetype"] == "video/mp4"
    assert body["filesize"] == 11 * MiB and 30 <= body["offset"] <= 40 and "parts" not in body
    form.parts.value = 2
    form.name.value = "renamed.mp4"
    assert "&quot;parts&quot;: 2" in form.preview.value and '"name": "renamed.mp4"' in form.text()
    form.button.click()
    assert created and created[0].name == "renamed.mp4" and len(created[0].upload_urls) == 2
