"""JupyterLab as a learner uses it: every notebook, opened and run with Run All against one lab sandbox.

One JupyterLab and one sandbox (as `c2c lab` sets them up: rooted at a copy of the kit's notebooks/ and docs/,
opening notebooks/00); each notebook gets a kernel of its own, shut down after it. A notebook passes when Run All
reaches its last cell (JupyterLab stops at the first exception, even in a cell tagged ``raises-exception``), no
cell shows an error or a traceback (but a cell tagged ``raises-exception``, the notebook's last, may: the error is
the lesson) and every widget rendered ("Loading widget..." or "Error displaying widget" left over fails it). Every
link a lesson shows resolves through the lab's contents API, and a click on each kind opens its page.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.cli import FIRST_NOTEBOOK, lab_config
from c2c_sandbox.cli import lab_command as c2c_lab_command

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
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


def lab_command(root: Path, port: int) -> list[str]:
    """JupyterLab as `c2c lab` runs it, for a test (FIELD_NOTES: as root, no token, no XSRF, no browser)."""
    return c2c_lab_command(
        root,
        FIRST_NOTEBOOK,
        port,
        [
            "--no-browser",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--expose-app-in-browser",
            "--ServerApp.open_browser=False",
            "--allow-root",
        ],
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Sandbox]]:
    """A sandbox and JupyterLab on loopback, the way `c2c lab` sets them up, over a copy of the kit's notebooks
    and docs (the lab's root is the kit's folder, so a lesson's ../docs links resolve)."""
    tmp_path = tmp_path_factory.mktemp("lab")
    root = tmp_path / "kit"
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns("work", ".ipynb_checkpoints"))
    shutil.copytree(ROOT / "docs", root / "docs")
    (tmp_path / "jupyter-config").mkdir()  # the user's own config: empty here
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
            # c2c lab's page config (no "news" prompt over the notebook), as c2c lab passes it
            **lab_config(tmp_path / "c2c-lab-config", {}),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        }
        log = (tmp_path / "lab.log").open("w")
        process = subprocess.Popen(lab_command(root, port), env=env, stdout=log, stderr=subprocess.STDOUT)
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
    page.goto(f"{url}/lab/tree/notebooks/{notebook}?reset")
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


# -- links: every link a lesson shows opens where the learner is -----------------------------------------------

MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
CURRENT_PATH = "() => window.jupyterapp.shell.currentWidget?.context?.path"


def lesson_links() -> dict[str, set[str]]:
    """Every link target in the lessons' Markdown cells, by notebook name."""
    found: dict[str, set[str]] = {}
    for path in notebooks():
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        found[path.name] = set(MARKDOWN_LINK.findall(text))
    return found


def test_every_relative_link_of_a_lesson_resolves_in_the_lab(lab: tuple[str, Sandbox]) -> None:
    """Each relative link, resolved as JupyterLab resolves it (against the notebook's folder, under the lab's
    root), names a file the lab's contents API serves; the rest are https links to Frame.io's pages and others."""
    url, _ = lab
    relative = 0
    for notebook, links in lesson_links().items():
        for link in links:
            if link.startswith("https://"):
                continue
            assert not link.startswith(("http:", "/")), f"{notebook}: {link}"
            target = posixpath.normpath(posixpath.join("notebooks", link.split("#")[0]))
            answer = requests.get(f"{url}/api/contents/{target}", params={"content": "0"}, timeout=30)
            assert answer.status_code == 200, f"{notebook}: {link} -> {target}: {answer.status_code}"
            relative += 1
    assert relative >= 10  # the lessons link the kit's docs


def test_the_lab_opens_00_first(lab: tuple[str, Sandbox], page: Any) -> None:
    url, _ = lab
    page.goto(f"{url}/?reset")
    page.wait_for_function(f"() => ({CURRENT_PATH})() === {json.dumps(FIRST_NOTEBOOK)}")
    page.wait_for_timeout(3000)  # JupyterLab asks about its news a moment after it starts, where it asks at all
    assert page.locator("text=receive official Jupyter news").count() == 0


def test_clicking_each_kind_of_link_in_a_lesson_opens_its_page(lab: tuple[str, Sandbox], page: Any) -> None:
    """In a rendered Markdown cell: a link to the kit's docs opens the page in the lab; a link to Frame.io's pages
    opens in a new browser tab (answered here by a stand-in: the test is offline)."""
    url, _ = lab
    links = lesson_links()
    notebook = next(n for n, found in links.items() if any(link.startswith("../docs/") for link in found))
    outside_web = re.compile(r"^https://(?!127\.0\.0\.1)")
    page.context.route(outside_web, lambda route: route.fulfill(status=200, body="<title>outside</title>"))
    try:
        page.goto(f"{url}/lab/tree/notebooks/{notebook}?reset")
        page.locator(".jp-Notebook").first.wait_for()
        # JupyterLab resolves ../docs/NAME.md against the notebook's folder, under its root: /files/docs/NAME.md
        doc = page.locator('.jp-RenderedMarkdown a[href*="/files/docs/"]').first
        doc.scroll_into_view_if_needed()
        target = "docs/" + doc.get_attribute("href").split("/files/docs/", 1)[1].split("?")[0].split("#")[0]
        pages = len(page.context.pages)
        doc.click()
        deadline = time.monotonic() + 15
        opened_in_lab = False
        while time.monotonic() < deadline:
            opened_in_lab = page.evaluate(CURRENT_PATH) == target
            if opened_in_lab or len(page.context.pages) > pages:
                break
            time.sleep(0.25)
        if opened_in_lab:  # in a lab tab (JupyterLab's link handler)
            page.locator(".jp-MainAreaWidget:visible").last.wait_for()
        else:  # in a browser tab of its own, served by the lab
            tab = page.context.pages[-1]
            tab.wait_for_load_state()
            assert "/files/docs/" in tab.url and "Sandbox" in tab.content(), tab.url
            tab.close()

        page.goto(f"{url}/lab/tree/notebooks/{notebook}?reset")
        page.locator(".jp-Notebook").first.wait_for()
        outside = page.locator('.jp-RenderedMarkdown a[href^="https://"]').first
        outside.scroll_into_view_if_needed()
        href = outside.get_attribute("href")
        with page.context.expect_page() as opened:
            outside.click()
        tab = opened.value
        tab.wait_for_load_state()
        assert tab.url == href and tab.title() == "outside", tab.url
        tab.close()
    finally:
        page.context.unroute(outside_web)
        shut_down_kernels(url)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_reset_gives_back_what_the_lessons_stored(lab: tuple[str, Sandbox]) -> None:
    """After the lessons ran, the page's Reset (every asset deleted, devices and tokens kept) gives the lab
    sandbox's data dir back to a few MB, however many times they ran: its size stays bounded."""
    _, sb = lab
    sb.clear_assets()
    assert _size(Path(sb.data_dir)) < 20 * 1024**2, sorted(
        (p.stat().st_size, str(p)) for p in Path(sb.data_dir).rglob("*") if p.is_file()
    )[-5:]
