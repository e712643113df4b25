"""`c2c lab`: the lines it prints, the service it points the notebooks at, one-line refusals, a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from c2c_helpers.lab.connect import sandbox_controls
from c2c_sandbox import Sandbox, cli

C2C_VARIABLES = ("C2C_API_URL", "C2C_ACCESS_TOKEN", "C2C_SANDBOX_URL", "C2C_CLIENT_ID", "C2C_CLIENT_SECRET")


@pytest.fixture
def no_service(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in C2C_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    """JupyterLab replaced: what `c2c lab` would have run, and with which environment."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def run(command: list[str], env: dict[str, str], **_: Any) -> int:
        calls.append((command, env))
        return 0

    monkeypatch.setattr(cli, "run_until_stopped", run)
    return calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_lab_prints_its_sandbox_s_variables_and_passes_them_on(
    tmp_path: Path, no_service: None, ran: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_setting_up.ipynb").write_text("{}")
    assert cli.lab_main(["--port", "0", "--data-dir", str(tmp_path / "sb"), "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    exports = [line for line in out.splitlines() if "C2C_" in line and not line.startswith("#")]
    assert exports and all(line.startswith("export C2C_") for line in exports)  # paste-ready
    printed = dict(line.removeprefix("export ").split("=", 1) for line in exports)
    assert sorted(printed) == sorted(C2C_VARIABLES)
    assert printed["C2C_API_URL"].startswith("http://127.0.0.1:") and printed["C2C_ACCESS_TOKEN"]
    assert f"# web page: {printed['C2C_API_URL']}/" in out
    ((command, env),) = ran
    assert {name: env[name] for name in C2C_VARIABLES} == printed
    assert command[1:3] == ["-m", "jupyterlab"] and f"--ServerApp.root_dir={tmp_path}" in command
    # the kit's folder is the root (a lesson's ../docs links resolve), and 00 opens first, with no news prompt
    assert "--LabApp.default_url=/lab/tree/notebooks/00_setting_up.ipynb" in command
    assert "--LabApp.news_url=None" in command
    config = Path(env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0])
    assert not config.exists()  # this run's page config (announcements disabled) is gone with the run


def test_lab_starts_no_sandbox_when_a_service_is_configured(
    tmp_path: Path,
    no_service: None,
    ran: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("C2C_API_URL", "https://api.frame.io")
    monkeypatch.setenv("C2C_ACCESS_TOKEN", "a-real-token")
    assert cli.lab_main(["--data-dir", str(tmp_path / "sb"), "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no sandbox started; the notebooks talk to https://api.frame.io" in out
    assert "skip the steps that need a sandbox's controls" in out
    assert "C2C_ACCESS_TOKEN=" not in out and not (tmp_path / "sb").exists()
    ((_, env),) = ran
    assert env["C2C_API_URL"] == "https://api.frame.io" and "C2C_SANDBOX_URL" not in env
    assert sandbox_controls() is None  # what the notebooks then see: their controls-only steps are skipped


def test_lab_refuses_half_a_configuration(
    no_service: None, ran: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("C2C_API_URL", "https://api.frame.io")
    assert cli.lab_main([]) == 2
    assert capsys.readouterr().err == (
        "c2c lab: C2C_API_URL is set but C2C_ACCESS_TOKEN is not: set both, or neither for a sandbox\n"
    )
    assert ran == []


def test_a_busy_port_is_one_line(
    tmp_path: Path, no_service: None, ran: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.lab_main(["--port", str(port), "--data-dir", str(tmp_path / "sb")]) == 2
    assert capsys.readouterr().err == f"c2c lab: port {port} is in use (another c2c lab or sandbox?): use --port\n"
    assert ran == []


def test_a_second_lab_on_the_same_data_dir_is_one_line(
    tmp_path: Path, no_service: None, ran: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(data_dir=tmp_path / "sb") as first:
        assert cli.lab_main(["--port", "0", "--data-dir", str(tmp_path / "sb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("c2c lab: ")
    assert f"process {os.getpid()} on port {first.port}" in err, err
    assert ran == []


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return value


def command_line(process: psutil.Process) -> list[str]:
    """The process's command line, or [] once it has ended (a zombie or gone)."""
    try:
        return process.cmdline()
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_stops_jupyterlab_its_kernels_and_the_sandbox(tmp_path: Path, signum: signal.Signals) -> None:
    env = {k: v for k, v in os.environ.items() if k not in C2C_VARIABLES}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    lab_port = free_port()
    command = [sys.executable, "-m", "c2c_helpers.tools.cli", "lab", "--port", "0", "--data-dir", str(tmp_path / "sb")]
    command += ["--lab-port", str(lab_port), "--root", str(tmp_path), "--no-browser"]
    command += ["--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True"]
    log = (tmp_path / "lab.out").open("w+")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{lab_port}"

        def up() -> bool:
            assert process.poll() is None, (tmp_path / "lab.out").read_text()[-2000:]
            try:
                return requests.get(f"{url}/api/status", timeout=2).ok
            except requests.ConnectionError:
                return False

        wait_for(up, 60, "JupyterLab did not start in 60 s")
        sandbox_url = (tmp_path / "lab.out").read_text().split("C2C_SANDBOX_URL=", 1)[1].split()[0]
        assert requests.get(f"{sandbox_url}/health", timeout=5).ok
        requests.post(f"{url}/api/kernels", json={"name": "python3"}, timeout=30).raise_for_status()

        def family() -> list[psutil.Process]:
            root = psutil.Process(process.pid)
            return [root, *root.children(recursive=True)]

        # the lab's short-lived helpers come and go (and may be zombies for a moment): look for the kernel until
        # it is there, reading each command line only while its process is still a live one
        wait_for(lambda: any("ipykernel" in " ".join(command_line(p)) for p in family()), 30, "no kernel started")
        family_before = [p for p in family() if command_line(p)]

        started = time.monotonic()
        process.send_signal(signum)
        assert process.wait(timeout=30) == 0
        _, alive = psutil.wait_procs(family_before, timeout=5)
        alive = [p for p in alive if command_line(p)]  # an unreaped zombie has ended: only live ones count
        assert alive == [], [command_line(p) for p in alive]
        assert time.monotonic() - started < 20
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{sandbox_url}/health", timeout=2)
        assert "sandbox stopped" in (tmp_path / "lab.out").read_text()
    finally:
        if process.poll() is None:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
        log.close()
