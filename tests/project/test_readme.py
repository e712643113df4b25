"""The README and docs/ as a newcomer reads them: the quick start first, CI running its test command, links that
resolve in a clone, and no internal issue numbers, planning history or paths outside the repo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
