"""The notebooks as regression tests: each runs top to bottom in a fresh kernel and must reproduce its outputs.

Regenerate the committed outputs after a deliberate change with::

    .venv/bin/python -m pytest tests/notebooks/test_notebooks.py --nb-force-regen   # rewrites, fails once
    .venv/bin/python -m pytest tests/notebooks/test_notebooks.py                    # passes

Volatile values are normalised narrowly (uuids, ports, dates, ETags, pairing codes, upload ids); widget model
ids and widget state are ignored because ipywidgets makes them random; nothing else is ignored.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
OUTPUTS = "/cells/*/outputs"
REPLACE = (
    (OUTPUTS, r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>"),
    (OUTPUTS, r"127\.0\.0\.1:\d+", "127.0.0.1:<port>"),
    (OUTPUTS, r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>"),
    (OUTPUTS, r"\d{4}_\d\d_\d\d", "<YYYY_MM_DD>"),
    (OUTPUTS, r"\b[0-9a-f]{32}\b", "<md5>"),  # ETags (a part's MD5); sha256 digests are longer and stay
    (OUTPUTS, r"uploadId=[A-Za-z0-9._-]+", "uploadId=<upload id>"),
    (OUTPUTS, r"c2c-sandbox-[0-9a-f]{12}", "c2c-sandbox-<bucket>"),
    (OUTPUTS, r"<RequestId>[0-9A-F]+</RequestId>", "<RequestId>…</RequestId>"),
    (OUTPUTS, r"(?<=enter code )\d{6}", "<six digits>"),  # the pairing code on the camera's screen
    (OUTPUTS, r'(?<="user_code": ")\d{6}|(?<=pair\?code=)\d{6}', "<six digits>"),
)
IGNORE = (
    "/cells/*/outputs/*/traceback",  # pytest-notebook's default, kept: paths and line numbers vary
    "/cells/*/outputs/*/data/application/vnd.jupyter.widget-view+json",  # random model ids
    "/metadata/widgets",  # the widget state store, keyed by the same random ids
    "/cells/*/execution_count",
    "/cells/*/outputs/*/execution_count",
)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_reproduces_its_outputs(nb_regression, notebook: Path) -> None:
    nb_regression.diff_replace = REPLACE
    nb_regression.diff_ignore = IGNORE
    nb_regression.diff_use_color = False
    nb_regression.exec_timeout = 120
    # Each notebook starts its own embedded sandbox: no C2C_* variable may point it elsewhere.
    nb_regression.exec_env = {k: v for k, v in os.environ.items() if not k.startswith("C2C_") or k == "C2C_CACHE_DIR"}
    nb_regression.check(str(notebook))


def test_there_are_notebooks() -> None:
    numbers = [int(n.name[:2]) for n in NOTEBOOKS]  # in order, no two alike; a number may wait for its notebook
    assert numbers == sorted(set(numbers)) and numbers[:7] == list(range(7))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_committed_notebook_is_executed_and_holds_no_secret(notebook: Path) -> None:
    text = notebook.read_text()
    nb = json.loads(text)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["execution_count"] is not None for c in code), "a code cell was never executed"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not run top to bottom in one go"
    assert not re.search(r"X-Amz-Signature=[0-9a-f]{16}", text), "a presigned signature is stored"
    assert not re.search(r"X-Amz-Credential=AKIA", text), "a presigned credential is stored"
    assert not re.search(r"Bearer [A-Za-z0-9._~+/-]{16,}", text), "a bearer token is stored"
    assert not re.search(r'"(access|refresh)_token": "(?!<redacted>)[^"]{8,}', text), "a token is stored"
