"""show_player: a live player, and a saved output (note and still frame) that holds no URL."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from c2c_helpers import C2CClient, upload_file
from c2c_helpers.lab.player import Player, plays_in_browser, show_player, still_frame
from c2c_sandbox import Sandbox
from c2c_sandbox.remote import RemoteSandbox


@pytest.fixture(scope="module")
def clip_asset(sandbox: Sandbox, clip: Path) -> str:
    return upload_file(clip, client=C2CClient(sandbox.api_url, sandbox.access_token, controls=sandbox)).asset.id


def saved(player: Player) -> str:
    """Everything a notebook would save of the player's output."""
    bundle, metadata = player._repr_mimebundle_()
    return json.dumps([bundle, metadata])


@pytest.mark.parametrize("remote", [False, True], ids=["Sandbox", "RemoteSandbox"])
def test_a_video_plays_live_and_saves_a_note_and_a_still(sandbox: Sandbox, clip_asset: str, remote: bool) -> None:
    controls = RemoteSandbox(sandbox.api_url) if remote else sandbox
    player = Player(controls, clip_asset)
    assert player.playable
    assert f'src="{sandbox.api_url}/sandbox/assets/{clip_asset}/original"' in player.value  # live: the element
    assert player.value.startswith("<video controls")
    bundle, metadata = player._repr_mimebundle_()
    assert bundle["text/plain"] == (
        "▶ C2C_TEST_CLIP.mp4 (video/mp4, 21,136,250 bytes): the clip plays here when you run this cell"
    )
    assert "application/vnd.jupyter.widget-view+json" in bundle
    still = base64.b64decode(bundle["image/jpeg"])
    assert still.startswith(b"\xff\xd8") and 2_000 < len(still) < 40_000
    assert metadata == {"image/jpeg": {"width": 480}}
    text = saved(player)
    assert str(sandbox.port) not in text and "http" not in text and clip_asset not in text


def test_the_still_frame_is_the_same_bytes_every_time(sandbox: Sandbox, clip_asset: str) -> None:
    first, second = still_frame(sandbox, clip_asset), still_frame(sandbox, clip_asset, at=1.0)
    assert first is not None and second is not None and first.data == second.data
    assert still_frame(sandbox, clip_asset, at=3.0).data != first.data  # type: ignore[union-attr]


def test_media_a_browser_does_not_play_gets_a_note(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "A001.mov"
    path.write_bytes(os.urandom(2048))
    client = C2CClient(sandbox.api_url, sandbox.access_token, controls=sandbox)
    asset_id = upload_file(path, client=client, wait=True).asset.id
    player = Player(sandbox, asset_id)
    assert not player.playable and "<video" not in player.value
    assert player.text() == (
        "A001.mov (video/quicktime, 2,048 bytes): browsers do not play this type inline; the sandbox's page offers"
        " the original to download"
    )
    bundle, _ = player._repr_mimebundle_()
    assert "image/jpeg" not in bundle  # random bytes: ffmpeg finds no frame, and nothing breaks


def test_an_asset_not_assembled_yet_and_no_sandbox(sandbox: Sandbox) -> None:
    client = C2CClient(sandbox.api_url, sandbox.access_token)
    asset = client.create_asset("later.mp4", "video/mp4", 10, 0, parts=1)
    assert Player(sandbox, asset.id).text() == (
        "later.mp4 (video/mp4, 10 bytes): not assembled yet (created), so there is nothing to play"
    )
    none = Player(None, asset.id)
    assert none.text() == "no sandbox here: Frame.io plays the uploaded file in its own web app"
    assert "http" not in saved(none)


def test_show_player_displays_once_and_returns_nothing(
    sandbox: Sandbox, clip_asset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[object] = []
    monkeypatch.setattr("c2c_helpers.lab.player.display", shown.append)
    assert show_player(sandbox, clip_asset) is None
    assert len(shown) == 1 and isinstance(shown[0], Player)


def test_playable_types() -> None:
    assert plays_in_browser("video/mp4") and plays_in_browser("Audio/MPEG; codecs=mp3")
    assert not plays_in_browser("video/quicktime") and not plays_in_browser("application/octet-stream")
