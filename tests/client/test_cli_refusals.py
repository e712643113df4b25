"""The command lines refuse what they cannot use in the kit's one line: ``c2c <command>: what is wrong`` on
stderr, exit status 2, nothing on stdout. Never a traceback, never a sandbox started with what it was given
(a port out of range, a lifetime that makes its token dead on arrival, a network no part gets through), and
never a temporary directory left behind.

Each command runs as its own process, in a scratch home and temporary directory, with no service configured; a
command that does not refuse is stopped (by its pid) after a bounded time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

C2C = [sys.executable, "-m", "c2c_helpers.tools.cli"]
PATIENCE = 30  # seconds a refusal may take (it takes under one); a command still running then has not refused

REFUSED = {
    "sandbox": [
        ["--port", "70000"],
        ["--port", "-1"],
        ["--port", "http"],
        ["--url-ttl", "0"],
        ["--url-ttl", "999999999"],
        ["--token-ttl", "-5"],
        ["--token-ttl", "0"],
        ["--poll-interval", "-1"],
        ["--poll-interval", "100000"],
        ["--network", "seed=1e400"],
        ["--network", "uplink=1"],
        ["--network", "ttfb=nan"],
    ],
    "lab": [["--lab-port", "0"], ["--lab-port", "99999"], ["--grace", "-1"], ["--grace", "inf"], ["--port", "70000"]],
    "check": [
        ["--port", "70000"],
        ["--seed", "-1"],
        ["--seed", "99999999999999999999"],
        ["--timeout", "0"],
        ["--timeout", "nan"],
    ],
    "upload": [
        ["--workers", "0", "f"],
        ["--workers", "1000000", "f"],
        ["--parts", "0", "f"],
        ["--parts", "20000", "f"],
        ["--attempts", "0", "f"],
        ["--offset", "100000000000000000000", "f"],
        ["--realtime", "--part-size", "1", "f"],
        ["--realtime", "--idle-timeout", "-1", "f"],
        ["--realtime", "--idle-timeout", "nan", "f"],
        [],
    ],
    "record": [["f", "--rate", "-1"], ["f", "--rate", "nan"], ["f", "--rate", "0"]],
    "fleet": [
        ["--cameras", "0"],
        ["--cameras", "100000"],
        ["--clips", "-1"],
        ["--workers", "0"],
        ["--clip-bytes", "0"],
        ["--clip-bytes", "99999999999999"],
        ["--network", "no-such-preset"],
        ["--network", "uplink=1"],
    ],
}
CASES = [
    pytest.param(command, args, id=f"{command} {' '.join(args)}")
    for command, cases in REFUSED.items()
    for args in cases
]


@pytest.fixture
def scratch(tmp_path: Path) -> dict[str, str]:
    """An environment whose home, data dir and temporary directory are empty folders under tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2C_")}
    for name in ("HOME", "XDG_DATA_HOME", "C2C_SANDBOX_DIR", "TMPDIR"):
        (tmp_path / name).mkdir()
        env[name] = str(tmp_path / name)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([*C2C, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=PATIENCE)
    except subprocess.TimeoutExpired as running:  # (subprocess.run killed it)
        pytest.fail(f"still running after {PATIENCE} s instead of refusing; it printed: {running.stdout!r}")


@pytest.mark.parametrize(("command", "args"), CASES)
def test_an_argument_out_of_range_is_a_one_line_refusal(
    command: str, args: list[str], scratch: dict[str, str], tmp_path: Path
) -> None:
    result = run([command, *args], scratch, tmp_path)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"c2c {command}: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert list(Path(scratch["TMPDIR"]).iterdir()) == [], "a temporary directory was left behind"
    assert list(Path(scratch["C2C_SANDBOX_DIR"]).iterdir()) == [], "a sandbox's data dir was made"


def test_a_negative_token_lifetime_prints_no_token(scratch: dict[str, str], tmp_path: Path) -> None:
    result = run(["sandbox", "--port", "0", "--token-ttl", "-1"], scratch, tmp_path)
    assert "C2C_ACCESS_TOKEN" not in result.stdout and result.returncode == 2


def test_a_data_dir_the_sandbox_cannot_use_is_one_line(scratch: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for command in (["sandbox", "--port", "0"], ["check", "--port", "0"]):
        result = run([*command, "--data-dir", str(blocker / "sb")], scratch, tmp_path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"c2c {command[0]}: ") and "Traceback" not in result.stderr
