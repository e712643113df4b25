"""The notebooks' shape as a lesson: read from the committed files, nothing is executed.

- each of 01-09 has an exercise: a learner's cell, a visible ``check_*(...)`` call in a cell of its own (never
  printing what the check returns), a solution in a hidden cell that calls the same check;
- 03 sends a part with a hand-written ``requests.put`` carrying both headers before any helper uploads one;
  04 writes the guide's loop by hand before it calls ``upload_file``;
- outputs stay short (no output over 20 lines, no traceback over 15), 00-06 hold no error output at all and no
  ``raises-exception`` tag (Run All in JupyterLab stops at the first error);
- no output holds a ``http://127.0.0.1:<port>`` or ``http://localhost:<port>`` URL: the sandbox that served it is
  gone, and JupyterLab would show it as a link (print ``$C2C_API_URL`` instead, show a still frame, not a player);
- every cell that changes the shared sandbox (faults, pauses, URL lifetimes, network) restores it in ``finally``;
- each notebook opens with what you will do, its prerequisites and its time, and ends with what you did, key
  points, resources and references (links) and what comes next; 00-06 link the guide; 07-09 say they are
  optional side trips; 00's table and the README's give each notebook the time the notebook itself gives;
- every widget output has a saved form that says what it shows, every chart a PNG beside it, and no saved
  output or widget state links a local port; every relative link points at a file that exists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
OURS = [n for n in NOTEBOOKS if int(n.name[:2]) <= 6]
WITH_EXERCISE = [n for n in NOTEBOOKS if int(n.name[:2]) >= 1]
SIDE_TRIPS = [n for n in NOTEBOOKS if int(n.name[:2]) >= 7]
TIME = re.compile(r"\*\*Time:\*\* about (\d+) min")
GUIDE = "https://developer.frame.io/camera-to-cloud/how-to-basic-upload"
CHECK_CALL = re.compile(r"^\s*(check_\w+)\(", re.MULTILINE)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
MAX_OUTPUT_LINES = 20
MAX_TRACEBACK_LINES = 15


def cells(notebook: Path) -> list[dict]:
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        cell["text"] = "".join(cell["source"])
    return nb["cells"]


def hidden(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def output_lines(output: dict) -> int:
    if output["output_type"] == "stream":
        return "".join(output["text"]).rstrip("\n").count("\n") + 1
    if output["output_type"] == "error":
        return 0  # counted as a traceback
    texts = [v for k, v in output.get("data", {}).items() if k.startswith("text/") and k != "text/html"]
    return max(("".join(t).rstrip("\n").count("\n") + 1 for t in texts), default=0)


def ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("notebook", WITH_EXERCISE, ids=ids(WITH_EXERCISE))
def test_an_exercise_with_a_check_and_a_hidden_solution(notebook: Path) -> None:
    code = [c for c in cells(notebook) if c["cell_type"] == "code"]
    visible = [(i, m) for i, c in enumerate(code) if not hidden(c) for m in CHECK_CALL.findall(c["text"])]
    assert visible, "no visible check_*(...) call"
    for i, check in visible:
        solutions = [c for c in code[i + 1 :] if hidden(c) and re.search(rf"^\s*{check}\(", c["text"], re.M)]
        assert solutions, f"{check}: no hidden solution cell after the check calls it"
        assert i > 0 and "..." not in code[i]["text"], f"{check}: the check cell should follow the learner's cell"
        assert "def " not in code[i]["text"] and "print(check_" not in code[i]["text"], f"{check}: a cell of its own"
        learner = code[i - 1]["text"]
        assert not hidden(code[i - 1]) and ("None" in learner or "..." in learner), f"{check}: no placeholder"
        imported = re.compile(rf"^from c2c_helpers\.lab import .*\b{check}\b", re.MULTILINE)
        assert any(imported.search(c["text"]) for c in code), f"{check}: not imported from c2c_helpers.lab"


def test_03_sends_a_part_by_hand_before_any_helper() -> None:
    code = [c["text"] for c in cells(ROOT / "notebooks" / "03_uploading_chunks.ipynb") if c["cell_type"] == "code"]
    headers = ('"content-type"', '"x-amz-acl": "private"')
    by_hand = next(i for i, t in enumerate(code) if "requests.put(" in t and all(h in t for h in headers))
    helper = next(i for i, t in enumerate(code) if re.search(r"\bupload_(chunk|file)\(", t))
    assert by_hand < helper
    curl = next(i for i, t in enumerate(code) if "curl -X PUT" in t and "--include" in t)
    assert curl < helper
    assert any("tail -c +OFFSET" in c["text"] for c in cells(ROOT / "notebooks" / "03_uploading_chunks.ipynb"))


def test_04_writes_the_guide_s_loop_by_hand_before_upload_file() -> None:
    nb = cells(ROOT / "notebooks" / "04_putting_it_together.ipynb")
    prose = " ".join(c["text"] for c in nb if c["cell_type"] == "markdown")
    assert "ST_CTIME" in prose and "time.ctime(file.stat.ST_CTIME)" in prose, "the guide's pseudocode is quoted"
    assert "math.ceil(float(file.size)) / float(len(response)))" in prose, "the misplaced parenthesis is shown"
    code = [c["text"] for c in nb if c["cell_type"] == "code"]
    loop = next(i for i, t in enumerate(code) if "requests.post(" in t and "requests.put(" in t and "for " in t)
    assert loop < next(i for i, t in enumerate(code) if "upload_file(" in t)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_outputs_are_short(notebook: Path) -> None:
    for n, cell in enumerate(cells(notebook)):
        for output in cell.get("outputs", []):
            lines = output_lines(output)
            assert lines <= MAX_OUTPUT_LINES, f"cell {n}: an output of {lines} lines"
            if output["output_type"] == "error":
                traceback = ANSI.sub("", "\n".join(output["traceback"])).count("\n") + 1
                assert traceback <= MAX_TRACEBACK_LINES, f"cell {n}: a traceback of {traceback} lines"


DEAD_LINK = re.compile(r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\]):\d+", re.IGNORECASE)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_outputs_hold_no_link_to_a_local_port(notebook: Path) -> None:
    for n, cell in enumerate(cells(notebook)):
        found = DEAD_LINK.findall(json.dumps(cell.get("outputs", [])))
        assert not found, f"cell {n}: an output links {found[0]}, a port that died with its sandbox"


def widget_state(notebook: Path) -> str:
    return json.dumps(json.loads(notebook.read_text())["metadata"].get("widgets", {}))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_saved_widget_state_holds_no_link_to_a_local_port(notebook: Path) -> None:
    found = DEAD_LINK.findall(widget_state(notebook))
    assert not found, f"metadata.widgets holds {found[0]}: a page opened later shows a dead player or link"


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_REPR = re.compile(r"^\s*[A-Z]\w*\(")  # ipywidgets' own repr: VBox(children=(HBox(..., IntSlider(value=...


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_widget_output_has_a_static_twin(notebook: Path) -> None:
    """Where no kernel runs (GitHub, nbviewer, the site) a widget is its saved form: it must say what it shows."""
    for n, cell in enumerate(cells(notebook)):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                text = "".join(data.get("text/plain", ""))
                assert text.strip() and not WIDGET_REPR.match(text), f"cell {n}: a widget saved as {text[:40]!r}"
        if re.search(r"^\s*(?:\w+\.)?[VH]Box\(", cell["text"], re.MULTILINE) and cell["cell_type"] == "code":
            pytest.fail(f"cell {n} builds a VBox/HBox by hand: use a c2c_helpers.lab view with a saved form")
        if cell["cell_type"] == "code" and "show_chart(" in cell["text"] and cell.get("outputs"):
            images = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
            assert images, f"cell {n}: a chart without its PNG beside it"


@pytest.mark.parametrize("notebook", OURS, ids=ids(OURS))
def test_run_all_does_not_stop(notebook: Path) -> None:
    for n, cell in enumerate(cells(notebook)):
        assert "raises-exception" not in cell.get("metadata", {}).get("tags", []), f"cell {n}"
        assert not [o for o in cell.get("outputs", []) if o["output_type"] == "error"], f"cell {n} shows an error"


SHARED_STATE = re.compile(r"\.(faults\.inject|set_url_ttl|set_network|pause)\(")


@pytest.mark.parametrize("notebook", OURS, ids=ids(OURS))
def test_changes_to_the_shared_sandbox_are_restored_in_finally(notebook: Path) -> None:
    for n, cell in enumerate(cells(notebook)):
        if cell["cell_type"] == "code" and SHARED_STATE.search(cell["text"]):
            assert "finally:" in cell["text"], f"cell {n} changes the sandbox without a finally"


@pytest.mark.parametrize("notebook", OURS, ids=ids(OURS))
def test_the_guide_is_linked(notebook: Path) -> None:
    assert GUIDE in " ".join(c["text"] for c in cells(notebook) if c["cell_type"] == "markdown")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_a_learner_s_frame(notebook: Path) -> None:
    prose = [c["text"] for c in cells(notebook) if c["cell_type"] == "markdown"]
    opening = " ".join(prose[:2])
    assert "you will" in opening.lower(), "no objectives up front"
    assert "**Prerequisites:**" in opening and TIME.search(opening), "no prerequisites and time up front"
    last = prose[-1]
    for section in ("## What you did", "## Key points", "## Resources and references", "## What's next"):
        assert section in last, f"the last cell has no {section!r}"
    assert last.index("## What you did") < last.index("## Key points") < last.index("## What's next")
    resources = last[last.index("## Resources and references") : last.index("## What's next")]
    assert len(re.findall(r"\]\((?:https://|\.\./)", resources)) >= 2, "resources without links"


@pytest.mark.parametrize("notebook", SIDE_TRIPS, ids=ids(SIDE_TRIPS))
def test_side_trips_say_so(notebook: Path) -> None:
    opening = " ".join(c["text"] for c in cells(notebook)[:2] if c["cell_type"] == "markdown")
    assert "**Optional side trip.**" in opening


def own_time(notebook: Path) -> int:
    opening = " ".join(c["text"] for c in cells(notebook)[:2] if c["cell_type"] == "markdown")
    match = TIME.search(opening)
    assert match, notebook.name
    return int(match.group(1))


def test_the_tables_give_each_notebook_its_own_time_and_path() -> None:
    table = " ".join(c["text"] for c in cells(ROOT / "notebooks" / "00_setting_up.ipynb"))
    readme = (ROOT / "README.md").read_text()
    for notebook in NOTEBOOKS:
        number, minutes = notebook.name[:2], own_time(notebook)
        path = "optional side trip" if notebook in SIDE_TRIPS else "(the guide|beyond the guide)"
        assert re.search(rf"\| {number} · [^|]+\|[^|]+\| {minutes} min \| {path} \|", table), f"00: {number}"
        assert re.search(rf"\| `{notebook.stem}` \|[^\n]+\| {minutes} min \| {path} \|", readme), f"README: {number}"


def test_00_lists_every_notebook_with_its_time() -> None:
    prose = " ".join(c["text"] for c in cells(ROOT / "notebooks" / "00_setting_up.ipynb"))
    for number in range(10):
        assert re.search(rf"\| {number:02d} · [^|]+\|[^|]+\| \d+ min \|", prose), f"notebook {number:02d}"
    assert "Before you start" in prose


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_relative_links_resolve(notebook: Path) -> None:
    for cell in cells(notebook):
        if cell["cell_type"] == "markdown":
            for target in re.findall(r"\]\((?!https?:|#)([^)#]+)", cell["text"]):
                assert (notebook.parent / target).exists(), f"{target} does not exist"
