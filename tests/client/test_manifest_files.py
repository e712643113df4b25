"""A resume manifest decides where an upload's bytes go, so only a regular file of this user's that nobody else
can write is read as one: symlinks, FIFOs, devices, another user's file, a group- or world-writable one and
negative or misplaced offsets are refused before anything is sent (nothing is created, nothing is PUT)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from c2c_helpers import C2CClient, InvalidFile, upload_file
from c2c_helpers.resume import Manifest
from c2c_sandbox import Sandbox


def _valid_manifest(tmp_path: Path, file: Path) -> dict[str, object]:
    return {
        "format": "c2c-upload-manifest",
        "version": 3,
        "api_url": "http://127.0.0.1:1",
        "file": str(file.resolve()),
        "filesize": file.stat().st_size,
        "mtime_ns": file.stat().st_mtime_ns,
        "asset_id": "a1",
        "name": file.name,
        "filetype": "video/quicktime",
        "upload_urls": ["https://s3.example/k?partNumber=1&X-Amz-Signature=s"],
        "parts": {},
    }


def _refused(path: Path, match: str) -> None:
    with pytest.raises(InvalidFile, match=match):
        Manifest.load(path)


def test_a_symlink_is_refused_even_to_a_good_manifest(tmp_path: Path, make_file: Callable[..., Path]) -> None:
    real = tmp_path / "real.json"
    real.write_text(json.dumps(_valid_manifest(tmp_path, make_file())))
    real.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert Manifest.load(real) is not None
    _refused(link, "symbolic link")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "m.json"
    os.mkfifo(fifo, 0o600)  # opening it for reading would block forever without O_NONBLOCK
    _refused(fifo, "not a regular file")


def test_a_device_is_refused(tmp_path: Path) -> None:
    _refused(Path("/dev/null"), "not a regular file")


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_manifest_others_can_write_is_refused(tmp_path: Path, make_file: Callable[..., Path], mode: int) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_valid_manifest(tmp_path, make_file())))
    path.chmod(mode)
    _refused(path, "others can write to it")


def test_another_users_manifest_is_refused(tmp_path: Path, make_file: Callable[..., Path]) -> None:
    if os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_valid_manifest(tmp_path, make_file())))
    path.chmod(0o600)
    os.chown(path, 65534, 65534)
    _refused(path, "belongs to another user")


@pytest.mark.parametrize(
    "change",
    [
        {"parts": {"1": {"etag": "e", "md5": "", "start": -5, "size": 10}}},
        {"filesize": -1},
        {"mtime_ns": -1},
        {"parts": {"2": {"etag": "e", "md5": "", "start": 0, "size": 1}}},  # a part the asset does not have
        {"upload_urls": ["https://s3.example/k?partNumber=2&X-Amz-Signature=s"]},  # part 1's URL is part 2's
    ],
)
def test_negative_offsets_and_misplaced_parts_are_refused(
    tmp_path: Path, make_file: Callable[..., Path], change: dict[str, object]
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**_valid_manifest(tmp_path, make_file()), **change}))
    path.chmod(0o600)
    _refused(path, "not a usable resume manifest")


@pytest.mark.parametrize(
    "registered",
    [
        {"1": {"start": 7, "size": 5242880, "is_final": False, "url": "https://s3/k?partNumber=1"}},  # moved bytes
        {"1": {"start": 0, "size": 5242880, "is_final": False, "url": "https://s3/k?partNumber=3"}},  # another URL
        {"1": {"start": 0, "size": 99, "is_final": False, "url": "https://s3/k?partNumber=1"}},  # short, not final
    ],
)
def test_a_real_time_manifest_cannot_move_a_parts_bytes_or_url(
    tmp_path: Path, make_file: Callable[..., Path], registered: dict[str, object]
) -> None:
    path = tmp_path / "m.json"
    base = {**_valid_manifest(tmp_path, make_file()), "upload_urls": [], "part_size": 5242880}
    path.write_text(json.dumps({**base, "registered": registered}))
    path.chmod(0o600)
    _refused(path, "not a usable resume manifest")


def test_a_refused_manifest_creates_and_sends_nothing(
    tmp_path: Path, make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox
) -> None:
    file = make_file()
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**_valid_manifest(tmp_path, file), "api_url": client.api_url}))
    path.chmod(0o666)
    before = len(sandbox.store.assets())
    with pytest.raises(InvalidFile, match="others can write"):
        upload_file(file, client=client, resume=path)
    assert len(sandbox.store.assets()) == before and path.exists()  # nothing created; the manifest is left
