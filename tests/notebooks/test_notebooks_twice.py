"""Every notebook twice in a row against ONE sandbox, the way ``c2c lab`` runs them.

``c2c lab`` starts one sandbox and hands every kernel its address through the environment, so a notebook that
left a pause, a fault, a one-second URL lifetime or a slow network behind would break the next one (or its
own second run). Here one :class:`~c2c_sandbox.Sandbox` serves all of them: each notebook runs twice, in order,
in a fresh kernel with the lab's variables; no cell may end in an error, and after each run the sandbox must
be as it was: no planned fault, no paused device, the URL lifetime and the network it was started with.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from c2c_sandbox import Sandbox
from c2c_sandbox.cli import PAIRING_CLIENT_ID

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def errors(nb: nbformat.NotebookNode) -> list[str]:
    return [
        f"cell {n}: {o['ename']}: {o['evalue'][:300]}"
        for n, cell in enumerate(nb.cells)
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def left_behind(sandbox: Sandbox, url_ttl: int) -> list[str]:
    state = sandbox.state()
    found = [f"planned faults: {sandbox.faults.pending()}"] if sandbox.faults.pending() else []
    found += [f"{d['name']} is paused" for d in state["devices"] if d["status"] != "online" or d["paused_channels"]]
    found += [f"URL lifetime {state['url_ttl']} s"] if state["url_ttl"] != url_ttl else []
    found += [f"network {sandbox.network.name}"] if sandbox.network.shaped else []
    return found


@pytest.mark.slow
def test_every_notebook_twice_in_a_row_against_one_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with Sandbox(data_dir=tmp_path / "lab", poll_interval=1) as sandbox:
        for name, value in {
            "C2C_API_URL": sandbox.api_url,
            "C2C_ACCESS_TOKEN": sandbox.access_token,
            "C2C_SANDBOX_URL": sandbox.api_url,
            "C2C_CLIENT_ID": PAIRING_CLIENT_ID,
            "C2C_CLIENT_SECRET": sandbox.client_secret,
        }.items():
            monkeypatch.setenv(name, value)  # what c2c lab gives JupyterLab, and so every kernel
        url_ttl = sandbox.state()["url_ttl"]
        problems: list[str] = []
        for notebook in NOTEBOOKS:
            for run in (1, 2):
                nb = nbformat.read(notebook, as_version=4)
                client = NotebookClient(
                    nb,
                    timeout=180,
                    kernel_name="python3",
                    allow_errors=True,
                    resources={"metadata": {"path": str(notebook.parent)}},
                )
                client.execute()
                problems += [f"{notebook.stem} run {run}: {e}" for e in errors(nb)]
                problems += [f"{notebook.stem} run {run} left {e}" for e in left_behind(sandbox, url_ttl)]
        assert not problems, "\n".join(problems)
        assert sandbox.state()["tree"], "the kernels did not talk to this sandbox"
