"""The lessons as a static site, from the committed notebooks and their saved outputs (nothing is executed).

``make site`` (``python -m c2c_helpers.lab.site``) writes ``build/site/``: one HTML page per notebook, made with
nbconvert's HTML exporter (its ``lab`` template, which comes with JupyterLab), and an ``index.html`` listing
them with each lesson's one-line summary. The saved widget state is left out of the pages: without a kernel a
widget can show nothing live, so each widget output falls back to its saved static form (the table of its
numbers, the still frame, the PNG chart beside it), which is what a learner reads before installing.

The kit's pages under ``docs/`` are rendered beside them (``docs/NAME.html``), and a lesson's links to them
(``../docs/NAME.md``, as they resolve on GitHub and in ``make lab``) are pointed at those pages, so that every
link a lesson shows opens on the site too.
"""

from __future__ import annotations

import argparse
import copy
import html
import re
from pathlib import Path
from typing import Any

__all__ = ["build_site", "main"]

ROOT = Path(__file__).resolve().parents[2]
#: A link from a lesson to a page of the kit's docs (``../docs/NAME.md#anchor``), in the exported HTML.
LESSON_TO_DOC = re.compile(r'href="\.\./docs/([\w.-]+)\.md(#[^"]*)?"')
#: A link from one docs page to another (``NAME.md#anchor``).
DOC_TO_DOC = re.compile(r'href="([\w.-]+)\.md(#[^"]*)?"')
DOC_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>c2c-upload-kit: {title}</title>
<style>body{{font:16px/1.5 sans-serif;max-width:56em;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .5em}}pre{{overflow-x:auto}}</style>
</head><body>
<p><a href="../index.html">The lessons</a></p>
{body}
</body></html>
"""
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>c2c-upload-kit: the lessons</title>
<style>body{{font:16px/1.5 sans-serif;max-width:46em;margin:2em auto;padding:0 1em}}li{{margin:.4em 0}}</style>
</head><body>
<h1>Camera to Cloud uploads: the lessons</h1>
<p>The kit's notebooks as they were last run, to read before installing. Run them yourself with
<code>make lab</code>: every widget is live there.</p>
<ol start="0">
{items}
</ol>
</body></html>
"""


def _title(nb: Any) -> str:
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    match = re.search(r"^#\s+(.+)$", first, re.MULTILINE)
    return match.group(1).strip() if match else "lesson"


def _without_widget_state(nb: Any) -> Any:
    """A copy without ``metadata.widgets``: widget outputs then render their saved static form."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    return nb


def build_docs(docs: Path, out: Path) -> list[Path]:
    """Render every ``docs/*.md`` to ``out/docs/NAME.html`` (their links to each other kept working)."""
    import mistune

    render = mistune.create_markdown(plugins=["table", "strikethrough", "url"])
    (out / "docs").mkdir(parents=True, exist_ok=True)
    pages = []
    for path in sorted(docs.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        body = DOC_TO_DOC.sub(lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', str(render(text)))
        title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
        page = out / "docs" / f"{path.stem}.html"
        page.write_text(DOC_PAGE.format(title=html.escape(title), body=body), encoding="utf-8")
        pages.append(page)
    return pages


def build_site(notebooks: Path = ROOT / "notebooks", out: Path = ROOT / "build" / "site") -> list[Path]:
    """Write one page per ``NN_*.ipynb``, the index and the docs pages; return the lesson pages written."""
    import nbformat
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")  # type: ignore[no-untyped-call]  # nbconvert is untyped
    pages, items = [], []
    for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        body, _resources = exporter.from_notebook_node(_without_widget_state(nb), resources={"metadata": {}})
        body = LESSON_TO_DOC.sub(lambda m: f'href="docs/{m.group(1)}.html{m.group(2) or ""}"', body)
        page = out / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        items.append(f'<li><a href="{page.name}">{html.escape(_title(nb))}</a></li>')
    (out / "index.html").write_text(PAGE.format(items="\n".join(items)), encoding="utf-8")
    build_docs(notebooks.parent / "docs", out)
    return pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="where to write the site")
    args = parser.parse_args(argv)
    pages = build_site(out=args.out)
    print(f"{len(pages)} lessons and an index in {args.out}")


if __name__ == "__main__":
    main()
