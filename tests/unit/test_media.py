"""MIME types, categories and creation offsets (c2c_helpers.request), and the deterministic test clip.

The real clip is encoded once per session, into a temporary cache (never the home cache). Tests of the
encoder's error paths and of concurrency swap ffmpeg for a small Python stand-in (``fake_encoder``) that
writes the real clip's unpadded bytes, so they cost no second encode.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from c2c_helpers import request as media
from c2c_helpers.lab import testclip
from c2c_helpers.lab.testclip import TEST_CLIP_NAME, TEST_CLIP_SHA256, TEST_CLIP_SIZE, make_test_clip
from c2c_helpers.request import creation_offset, file_category, guess_filetype

# --------------------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's clip cache directory (the clip is encoded into it by ``clip``)."""
    return tmp_path_factory.mktemp("c2c-cache")


@pytest.fixture(scope="session")
def clip(clip_cache: Path) -> Path:
    """The real test clip, encoded once per session. Read-only: copy it with make_test_clip() to modify."""
    return make_test_clip(cache_dir=clip_cache)


@pytest.fixture(autouse=True)
def _cache_env(clip_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every default-cache call in this module goes to the session's temporary cache, never ~/.cache."""
    monkeypatch.setenv("C2C_CACHE_DIR", str(clip_cache))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def top_level_boxes(path: Path) -> list[tuple[str, int, int]]:
    """(type, offset, size) of each top-level MP4 box; fails on a box that overruns the file."""
    boxes = []
    total = path.stat().st_size
    with path.open("rb") as f:
        offset = 0
        while offset < total:
            f.seek(offset)
            size, kind = struct.unpack(">I4s", f.read(8))
            if size == 1:  # 64-bit "largesize" follows the type
                (size,) = struct.unpack(">Q", f.read(8))
            elif size == 0:  # box runs to the end of the file
                size = total - offset
            assert size >= 8, f"box {kind!r} at {offset} has size {size}"
            assert offset + size <= total, f"box {kind!r} at {offset} overruns the file"
            assert re.fullmatch(rb"[a-z0-9 ]{4}", kind), f"odd box type {kind!r} at {offset}"
            boxes.append((kind.decode("ascii"), offset, size))
            offset += size
    return boxes


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def leftovers(directory: Path) -> list[str]:
    """Names in ``directory`` other than the clip and the lock file (temporary files must not remain)."""
    return sorted(p.name for p in directory.iterdir() if p.name not in {TEST_CLIP_NAME, f".{TEST_CLIP_NAME}.lock"})


# A stand-in for ffmpeg: argv = clip, size, out, delay, payload. Sleeps `delay` seconds, then writes
# `payload`, or (payload "-") the first `size` bytes of the real clip, i.e. exactly what ffmpeg writes.
FAKE_FFMPEG = (
    "import sys, time; clip, size, out, delay, payload = sys.argv[1:6]; time.sleep(float(delay)); "
    "data = open(clip, 'rb').read(int(size)) if payload == '-' else payload.encode(); open(out, 'wb').write(data)"
)


@pytest.fixture(scope="session")
def encoded_size(clip: Path) -> int:
    """Size of the clip as ffmpeg wrote it, before the padding `free` box."""
    kind, offset, _ = top_level_boxes(clip)[-1]
    assert kind == "free"
    return offset


@pytest.fixture
def fake_encoder(clip: Path, encoded_size: int, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Replace ffmpeg with a stand-in; ``fake_encoder()`` writes the real unpadded clip, or other bytes."""

    def install(*, payload: str = "-", size: int = encoded_size, delay: float = 0.0) -> None:
        def command(ffmpeg: str, out: Path) -> list[str]:
            return [sys.executable, "-c", FAKE_FFMPEG, str(clip), str(size), str(out), str(delay), payload]

        monkeypatch.setattr(testclip, "_ffmpeg_command", command)

    return install


# --------------------------------------------------------------------------------------------------
# the clip itself
# --------------------------------------------------------------------------------------------------


def test_clip_has_the_guide_size_and_the_pinned_sha256(clip: Path, clip_cache: Path) -> None:
    assert clip == clip_cache / TEST_CLIP_NAME
    assert clip.stat().st_size == TEST_CLIP_SIZE == 21_136_250
    assert sha256(clip) == TEST_CLIP_SHA256
    assert leftovers(clip_cache) == []


def test_clip_decodes_without_errors(clip: Path) -> None:
    proc = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-progress", "pipe:1", "-i", str(clip), "-f", "null", "-"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    frames = [int(n) for n in re.findall(r"^frame=(\d+)$", proc.stdout, re.MULTILINE)]
    assert frames[-1] == 16 * 25
    assert proc.stdout.rstrip().endswith("progress=end")


def test_clip_reports_16_seconds_of_720p_h264_and_aac(clip: Path) -> None:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(clip)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    info = proc.stderr  # no output file given, so ffmpeg exits 1 after describing the input
    match = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", info)
    assert match, info
    hours, minutes, seconds = match.groups()
    assert int(hours) * 3600 + int(minutes) * 60 + float(seconds) == pytest.approx(16.0, abs=0.05)
    assert re.search(r"Video: h264 .*yuv420p.* 1280x720 .* 25 fps", info), info
    assert re.search(r"Audio: aac .* 48000 Hz", info), info


def test_clip_top_level_boxes_are_faststart_then_padding(clip: Path) -> None:
    boxes = top_level_boxes(clip)
    # ffmpeg's mov muxer writes an 8-byte `free` before `mdat`; ours is the last one
    assert [kind for kind, _, _ in boxes] == ["ftyp", "moov", "free", "mdat", "free"]
    assert sum(size for _, _, size in boxes) == TEST_CLIP_SIZE
    _, pad_offset, pad_size = boxes[-1]
    assert pad_offset + pad_size == TEST_CLIP_SIZE
    with clip.open("rb") as f:
        assert f.read(12)[8:] == b"isom"
        f.seek(pad_offset + 8)
        assert f.read() == bytes(pad_size - 8)


# --------------------------------------------------------------------------------------------------
# make_test_clip: paths, caching, repair
# --------------------------------------------------------------------------------------------------


def test_none_returns_the_cached_file(clip: Path) -> None:
    assert make_test_clip() == clip  # via $C2C_CACHE_DIR
    assert make_test_clip(clip) == clip  # naming the cache file itself is fine too


def test_new_path_gets_a_correct_file_without_encoding(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(testclip, "_encode", _no_encode)
    target = tmp_path / "sub" / "dir" / "my clip.mp4"
    assert make_test_clip(target) == target
    assert target.stat().st_size == TEST_CLIP_SIZE
    assert sha256(target) == TEST_CLIP_SHA256
    assert leftovers(target.parent) == [target.name]


def test_second_call_is_fast_and_leaves_the_file_untouched(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = make_test_clip(tmp_path / "clip.mp4")
    before = target.stat()
    monkeypatch.setattr(testclip, "_encode", _no_encode)
    monkeypatch.setattr(testclip, "_place", _no_encode)
    started = time.perf_counter()
    again = make_test_clip(target)
    elapsed = time.perf_counter() - started
    after = again.stat()
    assert again == target
    unchanged = ("st_ino", "st_mtime_ns", "st_ctime_ns", "st_nlink")
    assert [getattr(after, k) for k in unchanged] == [getattr(before, k) for k in unchanged]
    assert elapsed < 1.0, f"second call took {elapsed:.3f} s"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(bytes(TEST_CLIP_SIZE)), id="right-size-wrong-bytes"),
        pytest.param(lambda p: p.write_bytes(b"\0\0\0\x08free"), id="truncated"),
        pytest.param(lambda p: (p.write_bytes(b"junk"), p.chmod(0o444)), id="read-only-junk"),
    ],
)
def test_a_wrong_file_at_path_is_replaced(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: Callable[[Path], object]
) -> None:
    target = tmp_path / "clip.mp4"
    damage(target)
    cache_inode = clip.stat().st_ino
    monkeypatch.setattr(testclip, "_encode", _no_encode)  # the cache is fine: no re-encode
    assert make_test_clip(target) == target
    assert target.stat().st_size == TEST_CLIP_SIZE
    assert sha256(target) == TEST_CLIP_SHA256
    assert clip.stat().st_ino == cache_inode
    assert leftovers(tmp_path) == ["clip.mp4"]


def test_directory_path_gets_the_clip_name(clip: Path, tmp_path: Path) -> None:
    assert make_test_clip(tmp_path) == tmp_path / TEST_CLIP_NAME
    assert sha256(tmp_path / TEST_CLIP_NAME) == TEST_CLIP_SHA256
    missing_dir = f"{tmp_path / 'new'}{os.sep}"  # a trailing separator means a directory, even a new one
    assert make_test_clip(missing_dir) == tmp_path / "new" / TEST_CLIP_NAME
    assert (tmp_path / "new" / TEST_CLIP_NAME).stat().st_size == TEST_CLIP_SIZE


def test_same_filesystem_hard_links_the_cache(clip: Path, tmp_path: Path) -> None:
    target = make_test_clip(tmp_path / "linked.mp4")
    assert os.path.samefile(target, clip)


def test_falls_back_to_a_verified_copy_when_links_fail(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_link(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    target = make_test_clip(tmp_path / "copied.mp4")
    assert not os.path.samefile(target, clip)
    assert sha256(target) == TEST_CLIP_SHA256
    assert target.stat().st_mode & stat.S_IWUSR  # a copy is the caller's own file
    assert leftovers(tmp_path) == ["copied.mp4"]


def test_wrong_cache_is_re_encoded(tmp_path: Path, fake_encoder: Callable[..., None]) -> None:
    fake_encoder()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / TEST_CLIP_NAME).write_bytes(bytes(TEST_CLIP_SIZE))
    assert make_test_clip(tmp_path / "out.mp4", cache_dir=cache) == tmp_path / "out.mp4"
    assert sha256(cache / TEST_CLIP_NAME) == TEST_CLIP_SHA256
    assert sha256(tmp_path / "out.mp4") == TEST_CLIP_SHA256
    assert leftovers(cache) == []


# --------------------------------------------------------------------------------------------------
# make_test_clip: failures leave nothing behind
# --------------------------------------------------------------------------------------------------


def test_a_different_encode_raises_naming_both_hashes(tmp_path: Path, fake_encoder: Callable[..., None]) -> None:
    fake_encoder(payload="not the clip")
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError) as caught:
        make_test_clip(tmp_path / "out.mp4", cache_dir=cache)
    pad = TEST_CLIP_SIZE - len(b"not the clip")
    got = hashlib.sha256(b"not the clip" + struct.pack(">I4s", pad, b"free") + bytes(pad - 8)).hexdigest()
    message = str(caught.value)
    assert got in message
    assert TEST_CLIP_SHA256 in message
    assert "imageio-ffmpeg==0.8.1" in message
    assert leftovers(cache) == []
    assert not (cache / TEST_CLIP_NAME).exists()
    assert not (tmp_path / "out.mp4").exists()


def test_an_encode_too_large_to_pad_raises(tmp_path: Path, fake_encoder: Callable[..., None]) -> None:
    fake_encoder(size=TEST_CLIP_SIZE - 7)
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError, match=r"21,136,243 bytes; it must be at most 21,136,242"):
        make_test_clip(cache_dir=cache)
    assert leftovers(cache) == []
    assert not (cache / TEST_CLIP_NAME).exists()


def test_ffmpeg_failure_raises_with_its_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(ffmpeg: str, out: Path) -> list[str]:
        return [sys.executable, "-c", "import sys; sys.stderr.write('No such filter: testsrc2'); sys.exit(3)"]

    monkeypatch.setattr(testclip, "_ffmpeg_command", failing)
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError, match=r"(?s)exit code 3.*No such filter: testsrc2"):
        make_test_clip(cache_dir=cache)
    assert leftovers(cache) == []


CHILD = """
import sys
from c2c_helpers.lab import testclip
fake, clip, size, target, cache = sys.argv[1:6]
testclip._ffmpeg_command = lambda ffmpeg, out: [sys.executable, "-c", fake, clip, size, str(out), "1.0", "-"]
real_encode = testclip._encode
def counting_encode(dest):
    with open(dest.parent / "encodes.log", "a") as log:
        log.write("encode\\n")
    real_encode(dest)
testclip._encode = counting_encode
print(testclip.make_test_clip(None if target == "-" else target, cache_dir=cache))
"""


@pytest.mark.skipif(testclip.fcntl is None, reason="no flock: concurrent callers may each encode")
def test_concurrent_processes_all_get_a_correct_file_and_encode_once(
    clip: Path, encoded_size: int, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    same = tmp_path / "out" / "same.mp4"
    targets = [str(same), str(same), str(tmp_path / "other.mp4"), "-"]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, FAKE_FFMPEG, str(clip), str(encoded_size), target, str(cache)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for target in targets
    ]
    results = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
    printed = [Path(out.strip()) for out, _ in results]
    assert printed == [same, same, tmp_path / "other.mp4", cache / TEST_CLIP_NAME]
    for path in set(printed):
        assert sha256(path) == TEST_CLIP_SHA256
    assert (cache / "encodes.log").read_text() == "encode\n"  # the lock made the others wait, then reuse
    assert leftovers(cache) == ["encodes.log"]
    assert leftovers(same.parent) == ["same.mp4"]


def _no_encode(*args: object) -> None:
    raise AssertionError("must not encode or copy here")


def test_import_does_not_load_imageio_ffmpeg() -> None:
    code = "import sys, c2c_helpers.request, c2c_helpers.lab.testclip; print('imageio_ffmpeg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------------------------------
# guess_filetype, file_category
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("C2C_TEST_CLIP.mp4", "video/mp4"),
        ("A001C003_230101_R1AB.MOV", "video/quicktime"),
        ("clip.mov", "video/quicktime"),
        ("A001C003.mxf", "application/mxf"),
        ("scene1_take3.wav", "audio/wav"),
        ("SCENE1.WAV", "audio/wav"),
        ("boom.bwf", "audio/wav"),
        ("song.mp3", "audio/mpeg"),
        ("still.jpg", "image/jpeg"),
        ("still.JPEG", "image/jpeg"),
        ("frame.png", "image/png"),
        ("A001_08151432_C001.braw", "video/x-braw"),
        ("A001_C001_0815XY_001.R3D", "video/x-r3d"),
        ("A001C001_230815_R1AB.0000001.ari", "image/x-arriraw"),
        ("A001C001_230815AB_CANON.CRM", "video/x-canon-crm"),
        ("00001.MTS", "video/mp2t"),
        ("notes.pdf", "application/pdf"),  # not pinned: from Python's own table
        ("report.csv", "text/csv"),
    ],
)
def test_guess_filetype(name: str, expected: str) -> None:
    assert guess_filetype(name) == expected
    assert guess_filetype(Path("/nonexistent/card") / name) == expected  # never opens the file


def test_guess_filetype_unknown_extension_says_how_to_pass_filetype() -> None:
    with pytest.raises(ValueError, match=r"'A001C003\.xyz' from its extension '\.xyz'") as caught:
        guess_filetype("A001C003.xyz")
    assert "filetype=" in str(caught.value)


def test_guess_filetype_without_extension() -> None:
    with pytest.raises(ValueError, match=r"'/card/README' because it has no extension.*filetype="):
        guess_filetype(Path("/card/README"))


@pytest.mark.parametrize(
    ("filetype", "category"),
    [
        ("video/mp4", "VIDEO"),
        ("video/quicktime", "VIDEO"),
        ("video/x-braw", "VIDEO"),
        ("Video/MP4; codecs=avc1", "VIDEO"),
        ("audio/wav", "AUDIO"),
        ("audio/mpeg", "AUDIO"),
        ("image/jpeg", "DATA"),
        ("image/x-arriraw", "DATA"),
        ("application/mxf", "DATA"),
        ("application/octet-stream", "DATA"),
        ("text/csv", "DATA"),
        ("garbage", "DATA"),
    ],
)
def test_file_category(filetype: str, category: str) -> None:
    assert file_category(filetype) == category


def test_every_pinned_type_has_a_category() -> None:
    for suffix, filetype in media._MEDIA_TYPES.items():
        assert guess_filetype(f"x{suffix}") == filetype
        assert file_category(filetype) in {"VIDEO", "AUDIO", "DATA"}


# --------------------------------------------------------------------------------------------------
# creation_offset
# --------------------------------------------------------------------------------------------------

has_birthtime = hasattr(os.stat_result, "st_birthtime")


@pytest.fixture
def old_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "A001C003.mov"
    path.write_bytes(b"x")
    os.utime(path, (1_000_000_000, 1_000_000_000))
    yield path


@pytest.mark.skipif(has_birthtime, reason="birth time is not settable with os.utime")
def test_creation_offset_uses_the_earlier_of_mtime_and_ctime(old_file: Path) -> None:
    assert creation_offset(old_file, now=1_000_000_090.9) == 90  # rounded down
    assert creation_offset(old_file, now=1_000_000_000) == 0


@pytest.mark.skipif(has_birthtime, reason="birth time is not settable with os.utime")
def test_creation_offset_mtime_in_the_future_falls_back_to_ctime(tmp_path: Path) -> None:
    path = tmp_path / "future.wav"
    path.write_bytes(b"x")
    os.utime(path, (time.time() + 86_400, time.time() + 86_400))
    ctime = path.stat().st_ctime
    assert creation_offset(path, now=ctime + 60.5) == 60


def test_creation_offset_is_never_negative(old_file: Path) -> None:
    assert creation_offset(old_file, now=0) == 0  # the file "was made" 31 years after now: clock skew


def test_creation_offset_defaults_to_now(tmp_path: Path) -> None:
    path = tmp_path / "fresh.mp4"
    path.write_bytes(b"x")
    assert 0 <= creation_offset(path) <= 5
    assert isinstance(creation_offset(path), int)


def test_creation_offset_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        creation_offset(tmp_path / "missing.mp4")
