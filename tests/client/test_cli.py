"""The c2c command: clip, upload (with a bar and a summary), and the two commands handed to the sandbox."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from c2c_helpers import TEST_CLIP_SHA256, TEST_CLIP_SIZE
from c2c_helpers.tools.cli import main
from c2c_sandbox import Sandbox

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Sandbox:
    """The environment `c2c sandbox` prints (and `c2c lab` sets): the API, a token, the sandbox's controls."""
    monkeypatch.setenv("C2C_API_URL", sandbox.api_url)
    monkeypatch.setenv("C2C_ACCESS_TOKEN", sandbox.access_token)
    monkeypatch.setenv("C2C_SANDBOX_URL", sandbox.api_url)
    return sandbox


def test_upload_to_a_service_without_controls_ends_when_every_part_is_acknowledged(
    make_file: Callable[..., Path],
    sandbox_env: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As against Frame.io (no C2C_SANDBOX_URL): no wait for an assembly no device can see."""
    monkeypatch.delenv("C2C_SANDBOX_URL")
    assert main(["upload", str(make_file()), "--parts", "2", "--no-progress"]) == 0
    line = capsys.readouterr().out.strip()
    assert "all 2 parts acknowledged in " in line and "assembled" not in line, line


def test_resume_takes_the_file_in_either_order(
    make_file: Callable[..., Path], sandbox_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """`c2c upload --resume FILE` uploads FILE with the default manifest beside it, as `c2c upload FILE --resume`."""
    path = make_file(size=2 * 1024 * 1024)
    assert main(["upload", "--resume", str(path), "--no-progress"]) == 0
    assert "all " in capsys.readouterr().out
    assert not path.with_name(path.name + ".c2c-resume.json").exists()  # a finished upload removes its manifest
    assert main(["upload", str(path), "--resume", "--no-progress"]) == 0


def test_resume_naming_the_file_as_its_manifest_says_what_it_wants(
    make_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_file(size=1000)
    with pytest.raises(SystemExit) as info:
        main(["upload", str(path), "--resume", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--resume takes the manifest's path (default FILE.c2c-resume.json), not the file" in err
    assert len(err.strip().splitlines()) == 1


def test_the_progress_bar_counts_in_the_summary_s_unit(
    make_file: Callable[..., Path], sandbox_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bar and summary both count decimal megabytes (MB, 10^6 bytes): never MiB beside MB."""
    assert main(["upload", str(make_file(size=3_000_000))]) == 0
    captured = capsys.readouterr()
    assert "MB/s" in captured.out and "MiB" not in captured.err
    assert "3.00M/3.00M" in captured.err, captured.err[-500:]  # 2.86M with binary units


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("clip", "upload", "sandbox", "lab"):
        assert command in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["upload"])
    assert info.value.code == 2
    assert "FILE" in capsys.readouterr().err.upper()


def test_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clip", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "C2C_TEST_CLIP.mp4"
    assert out == f"{path}  21,136,250 bytes  sha256 {TEST_CLIP_SHA256}\n"
    assert path.stat().st_size == TEST_CLIP_SIZE


def test_upload_shows_a_bar_and_ends_with_one_summary_line(
    make_file: Callable[..., Path], sandbox_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_file()
    assert main(["upload", str(path), "--workers", "2", "--parts", "2", "--name", "cli.mov"]) == 0
    out, err = capsys.readouterr()
    line = out.strip()
    assert "\n" not in line
    assert re.fullmatch(
        rf"uploaded 'cli\.mov': 11,534,336 bytes in 2 parts, 2 attempts, all 2 parts acknowledged, assembled by the "
        rf"sandbox in \S+ s \(\S+ MB/s\); "
        rf"asset ({UUID})",
        line,
    ), line
    asset_id = line.rsplit(" ", 1)[1]
    assert sandbox_env.asset_sha256(asset_id) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "100%" in err and "synthetic.mov" in err  # the tqdm bar, on stderr
    assert sandbox_env.access_token not in out + err


def test_upload_failure_is_a_redacted_message_and_exit_1(
    make_file: Callable[..., Path], sandbox_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox_env.faults.inject("internal_error", part=2, times=10)
    code = main(["upload", str(make_file()), "--parts", "2", "--attempts", "1", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("c2c: error: part 2: 500 InternalError")
    assert "attempt 1" in err and "asset " in err
    assert "X-Amz-" not in err and sandbox_env.access_token not in err


def test_upload_of_a_missing_file(tmp_path: Path, sandbox_env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    before = len(sandbox_env.store.assets())
    assert main(["upload", str(tmp_path / "nope.mov")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert len(sandbox_env.store.assets()) == before


def test_upload_without_configuration_uses_an_embedded_sandbox(
    make_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("C2C_API_URL", raising=False)
    monkeypatch.delenv("C2C_ACCESS_TOKEN", raising=False)
    assert main(["upload", str(make_file(size=1000)), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "embedded sandbox" in err and out.startswith("uploaded 'synthetic.mov': 1,000 bytes in 1 part")


def test_half_configured_environment_is_refused(
    make_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("C2C_API_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("C2C_ACCESS_TOKEN", raising=False)
    assert main(["upload", str(make_file(size=10))]) == 1
    assert "C2C_API_URL is set but C2C_ACCESS_TOKEN is not" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["sandbox", "lab"])
def test_sandbox_and_lab_are_handed_to_the_sandbox(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"c2c {command}" in capsys.readouterr().out


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "c2c_helpers.tools.cli", "upload", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "--workers" in done.stdout
