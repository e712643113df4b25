"""The lessons as a static site, from the committed notebooks and their saved outputs (nothing is executed).

``make site`` (``python -m c2c_helpers.lab.site``) writes ``build/site/``: one HTML page per notebook, made with
nbconvert's HTML exporter (its ``lab`` template, which comes with JupyterLab), and an ``index.html`` listing
them with each lesson's one-line summary. The saved widget state is left out of the pages: without a kernel a
widget can show nothing live, so each widget output falls back to its saved static form (the table of its
numbers, the still frame, the PNG chart beside it), which is what a learner reads before installing.
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


def build_site(notebooks: Path = ROOT / "notebooks", out: Path = ROOT / "build" / "site") -> list[Path]:
    """Write one page per ``NN_*.ipynb`` and the index; return the pages written."""
    import nbformat
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")  # type: ignore[no-untyped-call]  # nbconvert is untyped
    pages, items = [], []
    for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        body, _resources = exporter.from_notebook_node(_without_widget_state(nb), resources={"metadata": {}})
        page = out / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        items.append(f'<li><a href="{page.name}">{html.escape(_title(nb))}</a></li>')
    (out / "index.html").write_text(PAGE.format(items="\n".join(items)), encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="where to write the site")
    args = parser.parse_args(argv)
    pages = build_site(out=args.out)
    print(f"{len(pages)} lessons and an index in {args.out}")


if __name__ == "__main__":
    main()
