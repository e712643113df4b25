"""Nothing silently wrong in a real-time upload: bytes rewritten after they were sent (as an MP4 muxer patches its
header when it closes the file) are sent again before the final part completes the set, or the upload fails
loudly; against the real sandbox."""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path

import pytest

from c2c_helpers import C2CClient, FileChanged
from c2c_helpers.pool import ProgressEvent
from c2c_helpers.realtime import upload_growing_file
from c2c_helpers.realtime.upload import MAX_RESENDS
from c2c_sandbox import Sandbox

MiB = 1024 * 1024


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("where", [0, 5 * MiB + 17])  # the header of part 1, a byte inside part 2
def test_bytes_patched_after_they_were_sent_are_sent_again_before_the_final_part(
    sandbox: Sandbox, device_client: C2CClient, tmp_path: Path, where: int
) -> None:
    path = tmp_path / "take.mp4"
    rng = random.Random(where)
    path.write_bytes(rng.randbytes(11 * MiB + 123))  # parts 1 and 2 can be cut at once; the final part waits
    done = threading.Event()
    sent: set[int] = set()

    def on_progress(event: ProgressEvent) -> None:
        if event.state == "done":
            sent.add(event.part)
        if {1, 2} <= sent and not done.is_set():  # both full parts acknowledged: the muxer closes the file
            with open(path, "r+b") as f:
                f.seek(where)
                f.write(b"moov-patched-at-close")
            done.set()

    result = upload_growing_file(path, client=device_client, part_size=5 * MiB, done=done, progress=on_progress)
    assert result.resent == (1 if where == 0 else 2,)
    asset = sandbox.wait_for_asset(result.asset_id, 30)
    assert asset.status == "complete" and asset.sha256 == _sha256(path)  # the file as it is now, not as it was


def test_a_file_that_keeps_rewriting_sent_bytes_fails_loudly_and_never_completes(
    sandbox: Sandbox, device_client: C2CClient, tmp_path: Path
) -> None:
    path = tmp_path / "restless.mp4"
    path.write_bytes(random.Random(3).randbytes(5 * MiB + 9))
    rewrites = 0

    def on_progress(event: ProgressEvent) -> None:
        nonlocal rewrites
        if event.state == "done" and event.part == 1 and rewrites <= MAX_RESENDS + 1:  # bounded: stops by itself
            rewrites += 1
            with open(path, "r+b") as f:
                f.write(rewrites.to_bytes(4, "big"))

    with pytest.raises(FileChanged, match="kept changing bytes it had already written") as caught:
        upload_growing_file(path, client=device_client, part_size=5 * MiB, done=lambda: True, progress=on_progress)
    asset_id = caught.value.asset.id if caught.value.asset is not None else None
    assert asset_id is not None
    assert sandbox.asset_detail(asset_id)["status"] != "complete"  # the final part was never sent
