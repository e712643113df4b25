"""The README and docs/ as a newcomer reads them: the quick start first, CI running its test command, links that
resolve in a clone, and no internal issue numbers, planning history or paths outside the repo."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from c2c_sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
#: what a page of the kit never says: internal issue numbers, planning history, paths a clone does not have
INTERNAL = re.compile(r"\bissues? #?\d+|\bissue's\b|(?<![\w&/])#\d{1,4}\b|\.\./shared|/work/|\bmoto\b", re.IGNORECASE)


def quick_start() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index("## Quick start") : text.index("\n## ", text.index("## Quick start") + 1)]


def test_the_quick_start_comes_first_and_fits_a_screen() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("## Quick start")
    assert start < 12
    section = quick_start()
    assert len(section.splitlines()) <= 40
    for what in ("make lab", "make test", "00_setting_up", "Ctrl-C", "minutes", "export C2C_"):
        assert what in section, what


def test_ci_runs_the_readme_s_test_command() -> None:
    commands = re.findall(r"^(make \w+)\s+#", quick_start(), re.MULTILINE)
    assert commands == ["make lab", "make test"]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert [line for line in ci if line and not line.startswith("#")][-1] == "make test"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_a_page_says_nothing_internal(page: Path) -> None:
    found = [m.group(0) for m in INTERNAL.finditer(page.read_text())]
    assert found == [], f"{page.name}: {found}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_relative_link_of_a_page_resolves_in_a_clone(page: Path) -> None:
    for link in LINK.findall(page.read_text()):
        if link.startswith(("https://", "http://127.0.0.1", "#")):
            continue
        target = (page.parent / link.split("#")[0]).resolve()
        assert target.is_relative_to(ROOT) and target.exists(), f"{page.name}: {link}"


def curl_flow() -> str:
    """The README's bash block under "The guide's curl flow, by hand"."""
    text = (ROOT / "README.md").read_text()
    start = text.index("#### The guide's curl flow, by hand")
    block = text.index("```bash\n", start) + len("```bash\n")
    return text[block : text.index("```", block)]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's flow is curl's")
def test_the_readme_s_curl_flow_uploads_the_clip_and_leaves_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    """Run as written (from the kit's folder, the sandbox's exported variables set): both parts answer 200, the
    asset is assembled from the clip's bytes, and the scratch folder is gone with the clip."""
    from c2c_helpers import TEST_CLIP_SHA256

    script = curl_flow().replace('"$KIT/.venv/bin/c2c"', f"{shlex.quote(sys.executable)} -m c2c_helpers.tools.cli")
    cleanup = script.index('cd "$KIT"; rm -r "$OLDPWD"')
    report = """python3 -c 'import json; print("asset=" + json.load(open("asset.json"))["id"])'\n"""
    script = "set -euo pipefail\n" + script[:cleanup] + report + script[cleanup:] + 'echo "scratch=$OLDPWD"\n'
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2C_")}
    env |= {"C2C_API_URL": sandbox.api_url, "C2C_ACCESS_TOKEN": sandbox.access_token, "TMPDIR": str(tmp_path)}
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.count("HTTP/1.1 200 OK") == 2, done.stdout[-2000:]
    printed = dict(line.split("=", 1) for line in done.stdout.splitlines() if line.startswith(("asset=", "scratch=")))
    scratch = Path(printed["scratch"])
    assert scratch.is_relative_to(tmp_path) and not scratch.exists()
    sandbox.wait_for_asset(printed["asset"])
    assert sandbox.asset_sha256(printed["asset"]) == TEST_CLIP_SHA256
