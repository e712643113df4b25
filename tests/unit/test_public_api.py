"""The pinned public surface of c2c_helpers, its import discipline, and connect()."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import c2c_helpers
from c2c_helpers import C2CClient, ConfigurationError, connect
from c2c_helpers._http import DEFAULT_TIMEOUT
from c2c_helpers.lab.connect import embedded_sandbox
from c2c_helpers.request import DEFAULT_WORKERS

PACKAGE = Path(c2c_helpers.__file__).parent
#: the client, by folder: the core (every module directly in c2c_helpers/ but __init__) and the two rooms built
#: only on it; lab/ (the notebooks') and tools/ (the c2c command, the fleet) are not the client
CLIENT_ROOMS = ("resume", "realtime")
CLIENT_MODULES = sorted(
    path.relative_to(PACKAGE).with_suffix("").as_posix()
    for path in [*PACKAGE.glob("*.py"), *(p for room in CLIENT_ROOMS for p in (PACKAGE / room).glob("*.py"))]
    if path.name != "__init__.py" or path.parent != PACKAGE
)
#: what none of the client imports: none of it comes with `pip install .` but tqdm, which only the c2c command uses
NEVER_IN_THE_CLIENT = ("c2c_sandbox", "ipywidgets", "tqdm", "imageio_ffmpeg", "flask", "werkzeug", "botocore")

PINNED = [
    "TEST_CLIP_NAME",
    "TEST_CLIP_SHA256",
    "TEST_CLIP_SIZE",
    "APIError",
    "Asset",
    "AssetIncomplete",
    "AuthError",
    "C2CClient",
    "C2CError",
    "ChannelExists",
    "ChannelPaused",
    "Chunk",
    "ConfigurationError",
    "DeviceCode",
    "FileChanged",
    "InvalidArgument",
    "InvalidFile",
    "PairingExpired",
    "PartResult",
    "PartUploadError",
    "ProgressEvent",
    "RateLimited",
    "RetryPolicy",
    "Tokens",
    "TransportError",
    "UploadError",
    "UploadInterrupted",
    "UploadResult",
    "UploadURLExpired",
    "chunk_size",
    "connect",
    "creation_offset",
    "file_category",
    "guess_filetype",
    "make_test_clip",
    "pair_client",
    "pair_device",
    "part_number_of",
    "plan_chunks",
    "redact",
    "upload_chunk",
    "upload_file",
]


def test_all_is_pinned() -> None:
    assert c2c_helpers.__all__ == PINNED


@pytest.mark.parametrize("name", PINNED)
def test_every_public_name_exists_and_is_documented(name: str) -> None:
    obj = getattr(c2c_helpers, name)
    if callable(obj):
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_ships_py_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()


def _params(func: object) -> list[tuple[str, str, object]]:
    return [(p.name, p.kind.name, p.default) for p in inspect.signature(func).parameters.values()]  # type: ignore[arg-type]


def test_pinned_signatures() -> None:
    empty = inspect.Parameter.empty
    assert _params(c2c_helpers.chunk_size) == [
        ("filesize", "POSITIONAL_OR_KEYWORD", empty),
        ("n_urls", "POSITIONAL_OR_KEYWORD", empty),
    ]
    assert _params(c2c_helpers.plan_chunks) == [
        ("filesize", "POSITIONAL_OR_KEYWORD", empty),
        ("upload_urls", "POSITIONAL_OR_KEYWORD", empty),
    ]
    assert _params(C2CClient)[:5] == [
        ("api_url", "POSITIONAL_OR_KEYWORD", None),
        ("token", "POSITIONAL_OR_KEYWORD", None),
        ("client_version", "KEYWORD_ONLY", "2.0.0"),
        ("session", "KEYWORD_ONLY", None),
        ("timeout", "KEYWORD_ONLY", DEFAULT_TIMEOUT),
    ]
    assert _params(C2CClient.create_asset) == [
        ("self", "POSITIONAL_OR_KEYWORD", empty),
        ("name", "POSITIONAL_OR_KEYWORD", empty),
        ("filetype", "POSITIONAL_OR_KEYWORD", empty),
        ("filesize", "POSITIONAL_OR_KEYWORD", empty),
        ("offset", "POSITIONAL_OR_KEYWORD", empty),
        ("parts", "KEYWORD_ONLY", None),
        ("channel", "KEYWORD_ONLY", None),
    ]
    upload = _params(c2c_helpers.upload_file)
    assert upload[0] == ("path", "POSITIONAL_OR_KEYWORD", empty)
    pinned_kw = ["client", "name", "filetype", "offset", "parts", "workers", "retry", "progress", "wait"]
    assert [p[0] for p in upload[1:10]] == pinned_kw and all(p[1] == "KEYWORD_ONLY" for p in upload[1:])
    defaults = {name: default for name, _, default in upload}
    assert defaults["workers"] == DEFAULT_WORKERS and defaults["progress"] is None
    assert defaults["wait"] is None  # wait for assembly only where a sandbox's controls can see it
    assert [p.name for p in c2c_helpers.Chunk.__dataclass_fields__.values()] == ["index", "start", "size", "end", "url"]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (function-level imports included): for
    ``from a import b``, ``a.b`` when that is a module of the project, else ``a``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path.name}: a relative import ({node.module}); the client imports absolutely"
            base = node.module or ""
            found.update(f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names)
    return found


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _forbidden(module: str) -> tuple[str, ...]:
    """The folder rules for one client module: never the package itself, lab/, tools/ or a heavy dependency; the
    core reaches resume/ only through its package (its __all__) and never realtime/; realtime/ reaches resume/
    through its package too; resume/ never reaches realtime/."""
    never = ("c2c_helpers.lab", "c2c_helpers.tools", *NEVER_IN_THE_CLIENT)
    resume_modules = tuple(f"c2c_helpers.resume.{m}" for m in _modules_of("resume"))
    if "/" not in module:
        return (*never, "c2c_helpers.realtime", *resume_modules)
    if module.startswith("realtime/"):
        return (*never, *resume_modules)
    return (*never, "c2c_helpers.realtime")


def _modules_of(room: str) -> list[str]:
    return [p.stem for p in (PACKAGE / room).glob("*.py") if p.name != "__init__.py"]


def test_the_client_is_found_by_folder() -> None:
    assert {"chunks", "upload", "pool"} <= set(CLIENT_MODULES)
    assert any(m.startswith("resume/") for m in CLIENT_MODULES) and any(
        m.startswith("realtime/") for m in CLIENT_MODULES
    )
    assert not any(m.startswith(("lab/", "tools/")) for m in CLIENT_MODULES) and "__init__" not in CLIENT_MODULES


@pytest.mark.parametrize("module", CLIENT_MODULES)
def test_client_modules_never_import_the_sandbox_lab_tools_or_heavy_dependencies(module: str) -> None:
    imports, forbidden = _imports(PACKAGE / f"{module}.py"), _forbidden(module)
    bad = {m for m in imports for f in forbidden if m == f or m.startswith(f + ".")} | ({"c2c_helpers"} & imports)
    assert not bad, f"c2c_helpers/{module}.py imports {sorted(bad)}: see the rules in ARCHITECTURE.md"


def test_importing_the_package_loads_only_requests_and_the_standard_library() -> None:
    code = (
        "import sys, json; before = set(sys.modules); import c2c_helpers; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    requests_and_its_deps = {"requests", "urllib3", "idna", "charset_normalizer", "certifi"}
    allowed = set(sys.stdlib_module_names) | requests_and_its_deps | {"c2c_helpers"}
    # charset_normalizer's compiled speedups register Cython's runtime modules
    loaded = {name for name in loaded if not (name.startswith("_cython_") or name == "cython_runtime")}
    assert loaded - allowed == set(), f"import c2c_helpers also loaded {sorted(loaded - allowed)}"
    for heavy in (*NEVER_IN_THE_CLIENT, "moto"):
        assert heavy not in loaded, f"import c2c_helpers loaded {heavy}"


def test_importing_the_package_changes_no_logger() -> None:
    """Log redaction is installed when a session is made, not as a side effect of the import."""
    code = (
        "import logging, c2c_helpers; "
        "print(sum(len(logging.getLogger(n).filters) for n in logging.root.manager.loggerDict))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "0"


def test_client_modules_import_nothing_inside_functions() -> None:
    """Lazy imports are for heavy optional dependencies only, and those are lab/'s and tools/' (connect, the
    clip's encoder, the player, the CLI's bars): a client module imports everything at its top."""
    for module in CLIENT_MODULES:
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            inner = [ast.unparse(n) for n in ast.walk(func) if isinstance(n, ast.Import | ast.ImportFrom)]
            assert not inner, f"c2c_helpers/{module}.py: {func.name} imports inside the function: {inner}"


def test_connect_uses_the_configured_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C2C_API_URL", "https://api.frame.io")
    monkeypatch.setenv("C2C_ACCESS_TOKEN", "configured-token-value")
    client = connect()
    assert client.api_url == "https://api.frame.io" and client.token == "configured-token-value"
    assert "configured-token-value" not in repr(client)


@pytest.mark.parametrize("present", ["C2C_API_URL", "C2C_ACCESS_TOKEN"])
def test_connect_refuses_a_half_configured_environment(monkeypatch: pytest.MonkeyPatch, present: str) -> None:
    monkeypatch.delenv("C2C_API_URL", raising=False)
    monkeypatch.delenv("C2C_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv(present, "http://127.0.0.1:9" if present == "C2C_API_URL" else "some-token-value")
    with pytest.raises(ConfigurationError, match=f"{present} is set but"):
        connect()


def test_connect_starts_one_embedded_sandbox_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("C2C_API_URL", raising=False)
    monkeypatch.delenv("C2C_ACCESS_TOKEN", raising=False)
    first, second = connect(), connect()
    assert first.api_url == second.api_url == embedded_sandbox().api_url
    assert first.me()["name"] == "Sandbox Camera"


def test_redact_is_public_and_removes_what_matters() -> None:
    text = (
        "PUT https://s3.example/b/k?partNumber=1&X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=abc failed; "
        'Authorization: Bearer tok.en.value; {"refresh_token": "r-1"}; client_secret=s3cr3t'
    )
    out = c2c_helpers.redact(text)
    for secret in ("AKIA", "abc", "tok.en.value", "r-1", "s3cr3t", "X-Amz-"):
        assert secret not in out
    assert "partNumber=1" in out and c2c_helpers.redact(out) == out
