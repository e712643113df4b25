"""JupyterLab as a learner sees it: open 04_putting_it_together, run every cell, watch the bars fill."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from c2c_sandbox import Sandbox

pytestmark = pytest.mark.ui

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = "04_putting_it_together.ipynb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Sandbox]]:
    """A sandbox and JupyterLab on loopback, the way `c2c lab` sets them up, over a copy of the notebooks."""
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns("work", ".ipynb_checkpoints"))
    port = free_port()
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)  # no "news" prompt over the notebook in the screenshot
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
    )
    with Sandbox(data_dir=tmp_path / "sandbox") as sb:
        env = {
            **os.environ,
            "C2C_API_URL": sb.api_url,
            "C2C_ACCESS_TOKEN": sb.access_token,
            "C2C_SANDBOX_URL": sb.api_url,
            "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        }
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--notebook-dir={work}",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--expose-app-in-browser",
            "--ServerApp.open_browser=False",
            "--LabApp.news_url=",
            "--allow-root",
        ]
        log = (tmp_path / "lab.log").open("w")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{url}/api/status", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert process.poll() is None, (tmp_path / "lab.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "JupyterLab did not start in 60 s"
                time.sleep(0.25)
            yield url, sb
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def test_run_all_cells_of_putting_it_together(lab: tuple[str, Sandbox], page) -> None:
    url, sb = lab
    page.set_default_timeout(60_000)
    page.goto(f"{url}/lab/tree/{NOTEBOOK}?reset")
    page.locator(".jp-Notebook").first.wait_for()
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
    )
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    last = page.get_by_text("uploaded 'A001_C003_0101AB.mov': 31,457,280 bytes in 2 parts")
    last.wait_for(timeout=90_000)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"
    )

    assert (
        page.get_by_text("uploaded 'C2C_TEST_CLIP.mp4': 21,136,250 bytes in 2 parts, 2 attempts, complete").count() == 1
    )
    bars = page.locator(".widget-hprogress .progress-bar")
    assert bars.count() == 6  # two panels: two parts and the total each
    widths = [b.evaluate("el => el.style.width") for b in bars.all()]
    assert widths == ["100%"] * 6, widths
    assert page.get_by_text("21,136,250 / 21,136,250 bytes").count() >= 1
    assert page.get_by_text("31,457,280 / 31,457,280 bytes").count() >= 1
    assert page.locator(".widget-hprogress .progress-bar-success").count() == 6  # green: every part done
    assert page.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0  # no error output
    assert page.get_by_text("identical at the service: True").count() == 1
    complete = sb.store.assets(states=("complete",))
    assert sorted(a.name for a in complete) == ["A001_C003_0101AB.mov", "C2C_TEST_CLIP.mp4"]  # the lab's sandbox
    page.locator(".widget-hprogress").first.scroll_into_view_if_needed()
