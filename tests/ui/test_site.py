"""The static site of the lessons (``make site``) as a reader meets it: Chromium opens every page, offline.

The site is built from the committed notebooks without executing them. Each lesson page must render (its title,
its cells), every chart in it must be an image (the PNG beside each ``show_chart``), and no page may show a
widget's bare repr (``VBox(``, ``HBox(``) or a link to a local port that died with its sandbox.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from c2c_helpers.lab.site import build_site

pytestmark = pytest.mark.ui

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
LOCAL_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\]):\d+", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    pages = build_site(NOTEBOOKS, out)
    assert [p.stem for p in pages] == [n.stem for n in LESSONS]
    return out


def charts(notebook: Path) -> int:
    """How many charts the notebook's saved outputs hold (each a PNG)."""
    nb = json.loads(notebook.read_text())
    return sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))


def offline(page) -> None:  # type: ignore[no-untyped-def]
    """Only the site's own files load: the template's CDN scripts (MathJax, require.js) are refused."""
    page.route(re.compile(r"^https?://"), lambda route: route.abort())


def test_the_index_links_every_lesson(site: Path, page) -> None:  # type: ignore[no-untyped-def]
    offline(page)
    page.goto((site / "index.html").as_uri())
    links = page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert links == [f"{n.stem}.html" for n in LESSONS]


@pytest.mark.parametrize("notebook", LESSONS, ids=[n.stem for n in LESSONS])
def test_a_lesson_page_renders_with_its_charts_as_images(site: Path, page, notebook: Path) -> None:  # type: ignore[no-untyped-def]
    offline(page)
    page.goto((site / f"{notebook.stem}.html").as_uri())
    heading = page.locator("h1").first.inner_text()
    assert heading.strip().startswith(str(int(notebook.name[:2]))), heading
    assert page.locator(".jp-Cell").count() > 5
    text = page.locator("body").inner_text()
    assert "VBox(" not in text and "HBox(" not in text
    assert not LOCAL_URL.search(page.content()), "a link to a local port"
    images = page.locator(".jp-OutputArea-output img")
    loaded = images.evaluate_all("imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")
    assert loaded == images.count() >= charts(notebook)


def test_every_link_to_the_docs_opens_on_the_site(site: Path, page) -> None:  # type: ignore[no-untyped-def]
    """A lesson's ``../docs/NAME.md`` (right on GitHub and in ``make lab``) points at the site's own page of it;
    every such link names a page the site holds, and a click opens it."""
    linked = set()
    for lesson in LESSONS:
        text = (site / f"{lesson.stem}.html").read_text()
        assert 'href="../docs/' not in text, lesson.name
        linked |= {href.split("#")[0] for href in re.findall(r'href="(docs/[^"]+)"', text)}
    assert linked and all((site / href).is_file() for href in linked), sorted(linked)
    offline(page)
    lesson = next(n for n in LESSONS if 'href="docs/' in (site / f"{n.stem}.html").read_text())
    page.goto((site / f"{lesson.stem}.html").as_uri())
    link = page.locator('a[href^="docs/"]').first
    target = link.get_attribute("href").split("#")[0]
    link.click()
    page.wait_for_url(f"**/{target}*")
    assert page.locator("h1").first.inner_text().strip()
    assert page.locator("a[href='../index.html']").count() == 1  # and back to the lessons
