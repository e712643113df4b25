"""What a run of the test suite writes to disk and what it leaves behind.

``python -m benchmarks.disk [PYTEST ARGS...]`` runs pytest (by default as ``make test`` does: two workers, every
test) and prints:

- **written**: the bytes the run's processes wrote (the kernel's block-output count of every process it waited
  for: pytest, its workers, the sandboxes and JupyterLab kernels they started), temporary files included;
- **left behind**: what is new after the run outside pytest's temp root (in the temp dir, the kit's folder, the
  sandbox's and JupyterLab's data dirs under ``~/.local/share``), and what stays under pytest's temp root;
- the test files that wrote most (``--top N``), measured per test by :mod:`benchmarks.diskplugin`.

``--json PATH`` writes the figures. The kit's targets: a full run writes at most 6 GB and leaves nothing outside
pytest's temp root (the clip cache, ``~/.cache/c2c-kit``, is made once per machine and is not counted).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: ``make test``'s pytest arguments (the Makefile's XDIST).
MAKE_TEST = ["-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder"]
#: The kit's folder, without what a developer's tools keep there on purpose.
SKIP = {".git", ".venv", ".pytest_cache", ".ruff_cache", ".mypy_cache", "__pycache__", ".hypothesis", "artifacts"}
WRITTEN_TARGET = 6_000_000_000  # a quarter of the 24 GB a run wrote before the suite cleaned up


def _walk(top: Path, skip: frozenset[str] | set[str] = frozenset()) -> dict[str, int]:
    """Every file under ``top`` (its size), without the folders named in ``skip``."""
    found: dict[str, int] = {}
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = Path(folder, name)
            with contextlib.suppress(OSError):
                found[str(path)] = path.lstat().st_size
    return found


def pytest_root(tmp: Path) -> Path:
    """pytest's temp root for this user in ``tmp`` (``$TMPDIR/pytest-of-USER``), where each run gets ``pytest-N``."""
    import getpass

    return tmp / f"pytest-of-{getpass.getuser()}"


def snapshot(tmp: Path) -> dict[str, dict[str, int]]:
    """The files a run could leave behind: the run's temp dir (pytest's root apart), the kit's folder, the data
    dirs."""
    home = Path.home()
    places = {
        "temp dir": _walk(tmp, {pytest_root(tmp).name}),
        "kit folder": _walk(ROOT, SKIP),
        "~/.local/share/c2c-sandbox": _walk(home / ".local" / "share" / "c2c-sandbox"),
        "~/.local/share/jupyter": _walk(home / ".local" / "share" / "jupyter", {"runtime"}),
    }
    return places


def _new(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {
        place: {path: size for path, size in files.items() if path not in before[place]}
        for place, files in after.items()
    }


def run(pytest_args: list[str], log: Path, tmp: Path) -> tuple[int, int]:
    """Run pytest with the per-test plugin and ``tmp`` as its temp dir (so that whatever appears there is the
    run's, not another program's); return its exit status and the bytes its processes wrote."""
    env = dict(os.environ, C2C_DISK_LOG=str(log), TMPDIR=str(tmp))
    command = [sys.executable, "-m", "pytest", "-p", "benchmarks.diskplugin", *pytest_args]
    start = resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock
    status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    blocks = resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock - start
    return status, blocks * 512  # ru_oublock counts 512-byte blocks


def by_file(log: Path) -> dict[str, int]:
    """Bytes written per test file, from the plugin's lines (``{"nodeid": ..., "bytes": ...}``)."""
    totals: dict[str, int] = defaultdict(int)
    if log.exists():
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            totals[entry["nodeid"].split("::")[0]] += entry["bytes"]
    return dict(totals)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12, help="test files to list, the biggest writers first")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--disk", action="store_true", help="keep the run's temp root on disk, even if /dev/shm has room"
    )
    args, pytest_args = parser.parse_known_args(argv)
    pytest_args = pytest_args or MAKE_TEST
    # where the suite would keep its temp root (tests/conftest.py: memory when /dev/shm has room, else the disk)
    ram = Path("/dev/shm")
    in_ram = not args.disk and ram.is_dir() and shutil.disk_usage(ram).free >= 8 * 1024**3
    with tempfile.TemporaryDirectory(prefix="c2c-disk-", dir=ram if in_ram else None) as scratch:
        log, tmp = Path(scratch) / "tests.jsonl", Path(scratch) / "tmp"
        tmp.mkdir()
        before = snapshot(tmp)
        status, written = run(pytest_args, log, tmp)
        files = by_file(log)
        left = _new(before, snapshot(tmp))
        root = pytest_root(tmp)
        runs = sorted(root.glob("pytest-[0-9]*")) if root.exists() else []
        under_root = sum(sum(_walk(r).values()) for r in runs)
    outside = {place: sum(found.values()) for place, found in left.items() if found}
    print(f"pytest exit status {status}; temp root {'in memory (/dev/shm)' if in_ram else 'on disk'}")
    print(f"written: {written:,} bytes ({written / 1e9:.2f} GB; target at most {WRITTEN_TARGET / 1e9:.0f} GB)")
    print(
        f"left under pytest's temp root ({', '.join(r.name for r in runs) or 'no new run dir'}): {under_root:,} bytes"
    )
    print(f"left outside it: {sum(outside.values()):,} bytes" + "".join(f"\n  {p}: {n:,}" for p, n in outside.items()))
    for found in left.values():
        for path in sorted(found)[:10]:
            print(f"    {path} ({found[path]:,} bytes)")
    print("the test files that wrote most (bytes written by their tests and the processes they waited for):")
    for name, size in sorted(files.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {size / 1e6:10,.1f} MB  {name}")
    if args.json:
        figures = {
            "status": status,
            "temp_root_in_memory": in_ram,
            "written": written,
            "left_under_pytest_root": under_root,
            "left_outside": outside,
            "left_outside_files": {p: sorted(f) for p, f in left.items() if f},
            "by_file": files,
        }
        args.json.write_text(json.dumps(figures, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
