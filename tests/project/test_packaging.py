"""The project's own files agree with each other (pyproject, environment.yml, the pinned constraints), the build
has no warnings, and the wheel without extras is the client alone: it uploads the test clip to a sandbox running
from another environment."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from c2c_sandbox import Sandbox

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "c2c-upload-kit"
#: what `pip install .` may bring: the client needs requests, its CLI draws bars with tqdm
CLIENT_DEPENDENCIES = {"requests", "tqdm"}
#: what only the extras bring: none of it may be importable after `pip install .`
EXTRAS_ONLY = ["flask", "werkzeug", "botocore", "ipywidgets", "IPython", "imageio_ffmpeg", "jupyterlab", "moto"]
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*?)\s*(#.*)?$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(requirement: str) -> tuple[str, str]:
    match = REQUIREMENT.match(requirement)
    assert match, requirement
    return normalise(match.group(1)), match.group(3).replace(" ", "")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pyproject_requirements() -> dict[str, str]:
    """Every third-party requirement, from the dependencies and every extra (an extra naming another extra of
    the project itself, such as ``c2c-upload-kit[sandbox]``, adds nothing new)."""
    project = pyproject()
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    parsed = dict(parse(r) for r in requirements if parse(r)[0] != PROJECT)
    return parsed


def environment_requirements() -> dict[str, str]:
    found: dict[str, str] = {}
    text = (ROOT / "environment.yml").read_text()
    dependencies = text[text.index("dependencies:") :]
    for line in dependencies.splitlines():
        item = re.match(r"^\s+-\s+([^#]+?)\s*(#.*)?$", line)
        if not item or item.group(1) in ("pip", "pip:", "-e .[test]") or item.group(1).startswith("python="):
            continue
        name, spec = parse(item.group(1))
        found[name] = re.sub(r"^=(?=\d)", "==", spec)  # conda's "=1.2" means pip's "==1.2"
    return found


def test_environment_yml_names_the_same_dependencies_as_pyproject() -> None:
    assert environment_requirements() == pyproject_requirements()


def test_environment_yml_installs_the_project_with_its_test_extra() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert "- -e .[test]" in text and "- python=3.11" in text


def test_every_dependency_is_pinned_in_the_constraints() -> None:
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[normalise(name)] = version
    for name, spec in pyproject_requirements().items():
        assert name in pins, f"{name} is not pinned in requirements/constraints.txt"
        exact = re.fullmatch(r"==(.+)", spec)
        if exact:
            assert pins[name] == exact.group(1), f"{name}: pyproject pins {exact.group(1)}, constraints {pins[name]}"


def test_pip_install_dot_is_the_client_alone() -> None:
    assert {parse(r)[0] for r in pyproject()["dependencies"]} == CLIENT_DEPENDENCIES


def test_the_extras_build_on_each_other() -> None:
    extras = {name: [Requirement(r) for r in reqs] for name, reqs in pyproject()["optional-dependencies"].items()}
    assert set(extras) == {"sandbox", "clip", "lab", "test"}
    names = {name: {normalise(r.name) for r in reqs} for name, reqs in extras.items()}
    assert names["sandbox"] == {"flask", "werkzeug", "botocore"}
    assert names["clip"] == {"imageio-ffmpeg"}
    included = {
        name: {e for r in reqs if normalise(r.name) == PROJECT for e in r.extras} for name, reqs in extras.items()
    }
    assert included["lab"] == {"sandbox", "clip"} and included["test"] == {"lab"}
    assert {"jupyterlab", "ipywidgets"} <= names["lab"]
    assert {"pytest", "pytest-notebook", "ruff", "mypy", "types-requests", "setuptools"} <= names["test"]


# -- the wheel, installed without extras in a fresh venv -----------------------------------------------------


def _dependency_closure(names: set[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions `names` need, recursively (as this environment resolved them)."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = normalise(todo.pop())
        if name in found:
            continue
        found[name] = dist = metadata.distribution(name)
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def _repack(dist: metadata.Distribution, wheelhouse: Path) -> Path:
    """Pack an installed distribution back into a wheel (its files as RECORD lists them, new hashes), so that
    the fresh venv installs exactly the versions this environment runs, with no network."""
    files = [
        f
        for f in dist.files or []
        if f.parts[0] != ".."  # console scripts: pip writes them again from entry_points.txt
        and "__pycache__" not in f.parts
        and f.name not in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
    ]
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    tags = [
        line.split(":", 1)[1].strip()
        for line in (dist.read_text("WHEEL") or "").splitlines()
        if line.startswith("Tag:")
    ]
    wheel = wheelhouse / f"{info.removesuffix('.dist-info')}-{tags[0]}.whl"
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            data = Path(str(dist.locate_file(f))).read_bytes()
            zf.writestr(f.as_posix(), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{f.as_posix()},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def _build_wheel(tmp: Path) -> tuple[Path, str]:
    """Build the kit's wheel from a copy of the tracked sources (the work tree stays clean), with the backend
    installed here (offline: no build isolation). Returns the wheel and everything the build printed."""
    source = tmp / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    for package in ("c2c_helpers", "c2c_sandbox"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp / "dist"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # else distutils "warns"
    code = "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=source, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1], done.stdout + done.stderr


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_build_has_no_warnings(built_wheel: tuple[Path, str]) -> None:
    wheel, output = built_wheel
    warnings = [line for line in output.splitlines() if re.search(r"warn|deprecat|is absent", line, re.IGNORECASE)]
    assert warnings == []
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {"c2c_helpers/py.typed", "c2c_sandbox/py.typed", "c2c_sandbox/templates/index.html"} <= names
    sources = {
        path.relative_to(ROOT).as_posix()
        for package in ("c2c_helpers", "c2c_sandbox")
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sorted(sources - names) == []  # subpackages (c2c_sandbox/api/) too
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "benchmarks/", "notebooks/"))]


CLIENT_SCRIPT = """
import importlib.util, json, sys
import c2c_helpers
from c2c_helpers import C2CClient, upload_file

api_url, token, clip = sys.argv[1:4]
with C2CClient(api_url, token) as client:
    result = upload_file(clip, client=client, wait=False)
print(json.dumps({
    "c2c_helpers": c2c_helpers.__file__,
    "importable": sorted(name for name in json.loads(sys.argv[4]) if importlib.util.find_spec(name)),
    "asset_id": result.asset.id,
    "parts": [[p.number, p.bytes, bool(p.etag)] for p in result.parts],
}))
"""


@pytest.fixture(scope="module")
def client_venv(built_wheel: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install` of the wheel, no extras, offline, into a fresh venv: the client alone. Returns the venv."""
    tmp_path = tmp_path_factory.mktemp("client-venv")
    wheel, _ = built_wheel
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    shutil.copy(wheel, wheelhouse)
    for dist in _dependency_closure(CLIENT_DEPENDENCIES).values():
        _repack(dist, wheelhouse)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    # only the wheelhouse: no index, and neither this machine's pip.conf nor its PIP_* variables
    offline = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-cache-dir",
         "--disable-pip-version-check", "--find-links", str(wheelhouse), PROJECT],
        capture_output=True, text=True, timeout=180, env=offline,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    shutil.rmtree(wheelhouse)
    return venv


def test_the_wheel_without_extras_uploads_the_clip(
    client_venv: Path, sandbox: Sandbox, clip: Path, tmp_path: Path
) -> None:
    """The client alone (no Flask, botocore, ipywidgets, ffmpeg there) uploads the clip to the sandbox this
    environment runs."""
    from c2c_helpers import TEST_CLIP_SHA256, TEST_CLIP_SIZE

    venv = client_venv
    python = venv / "bin" / "python"

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "C2C_"))}
    done = subprocess.run(
        [str(python), "-c", CLIENT_SCRIPT, sandbox.api_url, sandbox.access_token, str(clip), json.dumps(EXTRAS_ONLY)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(answer["c2c_helpers"]).is_relative_to(venv), answer["c2c_helpers"]
    assert answer["importable"] == []
    parts = answer["parts"]
    assert [p[0] for p in parts] == list(range(1, len(parts) + 1)) and len(parts) >= 2
    assert sum(p[1] for p in parts) == TEST_CLIP_SIZE and all(p[2] for p in parts)
    sandbox.wait_for_asset(answer["asset_id"])
    assert sandbox.asset_sha256(answer["asset_id"]) == TEST_CLIP_SHA256


#: Each command that needs an extra, run where only `pip install .` is: (argv, the extra its one line names).
NEEDS_AN_EXTRA = [
    (["c2c", "sandbox"], "sandbox"),
    (["c2c", "sandbox", "--help"], "sandbox"),
    (["c2c", "check"], "sandbox"),
    (["c2c", "fleet", "--cameras", "2"], "sandbox"),
    (["c2c", "lab"], "lab"),
    (["c2c", "clip", "out"], "clip"),
    (["c2c", "record", "growing.mov", "--fast"], "clip"),
    (["c2c", "upload", "some.mov"], "sandbox"),
    (["python", "-m", "c2c_sandbox"], "sandbox"),
    (["python", "-c", "from c2c_sandbox import Sandbox"], "sandbox"),
]


@pytest.mark.parametrize(("argv", "extra"), NEEDS_AN_EXTRA, ids=[" ".join(a) for a, _ in NEEDS_AN_EXTRA])
def test_the_client_alone_names_the_extra_a_command_needs(
    client_venv: Path, tmp_path: Path, argv: list[str], extra: str
) -> None:
    """With `pip install .` alone, a command that needs an extra says in one line which one, and exits non-zero:
    no traceback (the import of the sandbox raises an ImportError naming the extra)."""
    (tmp_path / "some.mov").write_bytes(b"x" * 1000)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "C2C_"))}
    env["C2C_CACHE_DIR"] = str(tmp_path / "empty-cache")  # no clip cached: the clip must be encoded
    done = subprocess.run(
        [str(client_venv / "bin" / argv[0]), *argv[1:]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert f"'.[{extra}]'" in lines[-1], done.stderr
    if argv[0] == "c2c":
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    else:
        assert "ModuleNotFoundError" not in done.stderr, done.stderr
    if argv[:2] == ["c2c", "upload"]:
        assert "C2C_API_URL and C2C_ACCESS_TOKEN must be set" in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_client_alone_says_which_commands_need_an_extra(client_venv: Path) -> None:
    done = subprocess.run(
        [str(client_venv / "bin" / "c2c"), "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    for line in ("sandbox, check, fleet        [sandbox]", "lab                          [lab]", "clip, record"):
        assert line in done.stdout, done.stdout
