"""JupyterLab as a learner uses it: every notebook, opened and run with Run All against one lab sandbox.

One JupyterLab and one sandbox (as `c2c lab` sets them up) over a copy of notebooks/; each notebook gets a kernel
of its own, shut down after it. A notebook passes when Run All reaches its last cell (JupyterLab stops at the
first exception, even in a cell tagged ``raises-exception``), no cell shows an error or a traceback (but a cell
tagged ``raises-exception``, the notebook's last, may: the error is the lesson) and every widget rendered
("Loading widget..." or "Error displaying widget" left over fails it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from c2c_sandbox import Sandbox

pytestmark = pytest.mark.ui

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
RUN_TIMEOUT_MS = 240_000  # one notebook's Run All; the slowest runs in well under a minute
WIDGET_FAILURES = ("Loading widget...", "Error displaying widget")

#: Every code cell of the open notebook: its execution count, tags, error outputs and stderr text.
CELLS = """() => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  return notebook.widgets.filter(cell => cell.model.type === 'code').map(cell => {
    const outputs = cell.model.outputs.toJSON();
    return {
      index: notebook.widgets.indexOf(cell),
      count: cell.model.executionCount,
      tags: cell.model.getMetadata('tags') || [],
      source: cell.model.sharedModel.getSource().split('\\n')[0].slice(0, 80),
      errors: outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`.slice(0, 300)),
      stderr: outputs.filter(o => o.output_type === 'stream' && o.name === 'stderr')
        .map(o => Array.isArray(o.text) ? o.text.join('') : o.text).join(''),
      widgets: [...cell.node.querySelectorAll('.jp-OutputArea-output')].map(n => n.textContent)
        .filter(t => t.includes('Loading widget...') || t.includes('Error displaying widget')),
    };
  });
}"""
KERNEL = "window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel"


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_command(work: Path, port: int) -> list[str]:
    """JupyterLab for a test (FIELD_NOTES: as root, no token, no XSRF, no browser, no news)."""
    return [
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Sandbox]]:
    """A sandbox and JupyterLab on loopback, the way `c2c lab` sets them up, over a copy of the notebooks."""
    tmp_path = tmp_path_factory.mktemp("lab")
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns("work", ".ipynb_checkpoints"))
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)  # no "news" prompt over the notebook in the screenshot
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
    )
    port = free_port()
    with Sandbox(data_dir=tmp_path / "sandbox", poll_interval=2) as sb:
        env = {
            **os.environ,
            "C2C_API_URL": sb.api_url,
            "C2C_ACCESS_TOKEN": sb.access_token,
            "C2C_SANDBOX_URL": sb.api_url,
            "C2C_CLIENT_ID": "SN-000123",
            "C2C_CLIENT_SECRET": sb.client_secret,
            "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        }
        log = (tmp_path / "lab.log").open("w")
        process = subprocess.Popen(lab_command(work, port), env=env, stdout=log, stderr=subprocess.STDOUT)
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


def shut_down_kernels(url: str) -> None:
    for session in requests.get(f"{url}/api/sessions", timeout=10).json():
        requests.delete(f"{url}/api/sessions/{session['id']}", timeout=30)


def run_all(page: Any, url: str, notebook: str) -> list[dict[str, Any]]:
    """Open ``notebook`` in a fresh workspace, wait for its kernel, Run All, wait until it is done and idle."""
    page.goto(f"{url}/lab/tree/{notebook}?reset")
    page.locator(".jp-Notebook").first.wait_for()
    page.wait_for_function(f"() => {KERNEL}?.status === 'idle'")
    page.evaluate(
        "() => { window.__ran = undefined; window.jupyterapp.commands.execute('notebook:run-all-cells')"
        ".then(r => { window.__ran = String(r); }, e => { window.__ran = 'failed: ' + e; }); }"
    )
    page.wait_for_function("() => window.__ran !== undefined", timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(f"() => {KERNEL}?.status === 'idle'", timeout=RUN_TIMEOUT_MS)
    deadline = time.monotonic() + 15  # widget views render after the kernel went idle
    cells: list[dict[str, Any]] = page.evaluate(CELLS)
    while any(cell["widgets"] for cell in cells) and time.monotonic() < deadline:
        time.sleep(0.25)
        cells = page.evaluate(CELLS)
    return cells


def problems(cells: list[dict[str, Any]]) -> list[str]:
    """What a learner would see go wrong, one line per cell."""
    found: list[str] = []
    last_error = ""
    for cell in cells:
        where = f"cell {cell['index']} ({cell['source']!r})"
        if cell["count"] is None:
            # JupyterLab's Run All stops at any error, even in a cell tagged raises-exception
            found.append(f"{where}: never ran: Run All stopped before it{last_error}")
            break
        if cell["errors"]:
            last_error = f", at the error {cell['errors'][-1]!r} of cell {cell['index']}"
        if cell["errors"] and "raises-exception" not in cell["tags"]:
            found.extend(f"{where}: {error}" for error in cell["errors"])
        if "Traceback (most recent call last)" in cell["stderr"]:
            found.append(f"{where}: a traceback on stderr: {cell['stderr'][-300:]!r}")
        found.extend(f"{where}: widget shows {text.strip()[:80]!r}" for text in cell["widgets"])
    return found


def leftovers(sb: Sandbox, network: str, url_ttl: int) -> list[str]:
    """What a notebook left behind in the shared lab sandbox (each notebook restores it in ``finally``)."""
    found = [f"a planned fault: {fault}" for fault in sb.faults.pending()]
    for device in sb.state()["devices"]:
        if device["status"] == "paused" or device["paused_channels"]:
            found.append(f"device {device['name']} is paused (channels {device['paused_channels'] or 'all'})")
    if sb.url_ttl != url_ttl:
        found.append(f"upload URLs live {sb.url_ttl} s, not {url_ttl} s")
    if sb.network.summary() != network:
        found.append(f"network conditions {sb.network.summary()!r}, not {network!r}")
    return found


def test_there_are_notebooks() -> None:
    assert len(notebooks()) >= 7


@pytest.mark.parametrize("notebook", [path.name for path in notebooks()], ids=[path.stem for path in notebooks()])
def test_run_all_of_every_notebook(lab: tuple[str, Sandbox], page: Any, notebook: str) -> None:
    url, sb = lab
    page.set_default_timeout(60_000)
    network, url_ttl = sb.network.summary(), sb.url_ttl
    try:
        cells = run_all(page, url, notebook)
        assert cells, f"{notebook} has no code cell"
        found = problems(cells) + [f"left in the lab sandbox: {what}" for what in leftovers(sb, network, url_ttl)]
        assert not found, f"{notebook} under Run All:\n" + "\n".join(found)
    finally:
        shut_down_kernels(url)
        sb.reset()  # what one notebook left must not fail the next: it is reported above, for the one that left it
