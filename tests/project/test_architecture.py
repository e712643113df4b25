"""The import architecture of c2c_helpers and c2c_sandbox, read from the source with ``ast`` (nothing imported).

Every ``import`` counts, at module level or inside a function (a deferred import is still an arrow), and so do
imports under ``if TYPE_CHECKING:`` (the client must not need the sandbox even to be type-checked). An import
of ``a.b.c`` is an arrow to ``a.b.c`` only, not to the packages above it, which Python also runs. The rules
are drawn in ARCHITECTURE.md, which must name every module file and no other.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("c2c_helpers", "c2c_sandbox")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
#: the c2c_helpers modules that may reach beyond the client (UI, glue, CLI, teaching transcript)
NOT_CLIENT = {
    "c2c_helpers.lab.widgets",
    "c2c_helpers.lab.connect",
    "c2c_helpers.tools.fleet",
    "c2c_helpers.tools.cli",
    "c2c_helpers.lab.transcript",
}
#: what the client modules never import
CLIENT_NEVER = (
    "c2c_sandbox",
    "c2c_helpers.lab.widgets",
    "c2c_helpers.lab.connect",
    "c2c_helpers.tools.fleet",
    "c2c_helpers.tools.cli",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def module_files() -> dict[str, Path]:
    """Every module of both packages, by dotted name."""
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                files[module_name(path)] = path
    return files


def is_package(name: str) -> bool:
    return module_files()[name].name == "__init__.py"


def imported_names(name: str) -> Iterator[str]:
    """The absolute names each import statement in module `name` reaches for (``from a import b`` gives
    ``a.b`` and ``a``: which of them is a module decides the arrow)."""
    tree = ast.parse(module_files()[name].read_text(), filename=str(module_files()[name]))
    package = name if is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}" if alias.name != "*" else base


def resolve(target: str) -> str | None:
    """The project module an imported name lands in (the longest existing prefix), or None outside it."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in module_files():
            return candidate
    return None


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports."""
    edges = {}
    for name in module_files():
        targets = {resolve(t) for t in imported_names(name)}
        edges[name] = frozenset(t for t in targets if t is not None and t != name)
    return edges


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def cycle_path(component: list[str], edges: dict[str, frozenset[str]]) -> str:
    """One concrete loop through a component, for the message: ``a -> b -> a``."""
    start, members = component[0], set(component)
    path, seen = [start], {start}
    while True:
        nxt = sorted(t for t in edges[path[-1]] if t in members)
        back = [t for t in nxt if t == start]
        if back and len(path) > 1:
            return " -> ".join([*path, start])
        fresh = [t for t in nxt if t not in seen]
        if not fresh:
            return " -> ".join([*path, nxt[0]]) if nxt else " <-> ".join(component)
        path.append(fresh[0])
        seen.add(fresh[0])


def offenders(source: str, forbidden: tuple[str, ...], only: set[str] | None = None) -> list[str]:
    """Arrows from modules under `source` (optionally only those in `only`) to anything under `forbidden`."""
    found = []
    for name, targets in graph().items():
        if not (name == source or name.startswith(source + ".")) or (only is not None and name not in only):
            continue
        for target in sorted(targets):
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                found.append(f"{name} -> {target}")
    return found


def test_the_scan_sees_both_packages() -> None:
    assert {"c2c_helpers", "c2c_helpers.chunks", "c2c_sandbox"} <= set(module_files())
    assert graph()["c2c_helpers"]  # the package's __init__ imports its modules


def test_no_import_cycle() -> None:
    edges = graph()
    found = [cycle_path(c, edges) for c in cycles(edges)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_the_sandbox_never_imports_the_client() -> None:
    found = offenders("c2c_sandbox", ("c2c_helpers",))
    assert not found, "the sandbox imports the client:\n" + "\n".join(found)


def test_the_client_modules_never_import_the_sandbox_widgets_connect_or_cli() -> None:
    client = {n for n in module_files() if n.startswith("c2c_helpers") and n not in NOT_CLIENT}
    found = offenders("c2c_helpers", CLIENT_NEVER, only=client)
    # the package's __init__ re-exports connect() (the public surface); connect imports the sandbox lazily
    found = [f for f in found if f != "c2c_helpers -> c2c_helpers.lab.connect"]
    assert not found, "client modules reach beyond the client:\n" + "\n".join(found)


def test_chunks_imports_nothing_of_the_project_but_redaction() -> None:
    assert "c2c_helpers.chunks" in module_files()
    extra = sorted(graph()["c2c_helpers.chunks"] - {"c2c_helpers._redact"})
    assert not extra, f"c2c_helpers.chunks imports {extra}"


def test_no_module_over_450_lines() -> None:
    long = {}
    for name, path in module_files().items():
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            long[name] = lines
    assert not long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(f"{n}: {k}" for n, k in long.items())


def test_no_function_over_60_lines() -> None:
    long = {}
    for name, path in module_files().items():
        tree = ast.parse(path.read_text())
        for qualname, node in functions(tree):
            lines = function_lines(node)
            if lines > MAX_FUNCTION_LINES:
                long[f"{name}:{qualname}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (docstring not counted):\n" + "\n".join(
        f"{n}: {k}" for n, k in long.items()
    )


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from ``def`` to the function's last line, less its docstring (documentation with runnable
    examples is encouraged, and is not what makes a function hard to read)."""
    lines = (node.end_lineno or node.lineno) - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines -= (first.end_lineno or first.lineno) - first.lineno + 1
    return lines


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, nested ones too, with a qualified name."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, f"{prefix}{node.name}.")
        else:
            yield from functions(node, prefix)


def documented_modules() -> set[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    return set(re.findall(r"\b((?:c2c_helpers|c2c_sandbox)/[\w/]+\.py)\b", text))


def test_architecture_md_names_every_module_file() -> None:
    files = {path.relative_to(ROOT).as_posix() for path in module_files().values()}
    missing = sorted(files - documented_modules())
    assert not missing, "module files ARCHITECTURE.md does not name:\n" + "\n".join(missing)


def test_every_module_architecture_md_names_exists() -> None:
    files = {path.relative_to(ROOT).as_posix() for path in module_files().values()}
    ghosts = sorted(documented_modules() - files)
    assert not ghosts, "ARCHITECTURE.md names modules that do not exist:\n" + "\n".join(ghosts)


# -- the checks above, checked ------------------------------------------------------------------------------


def test_cycles_finds_a_loop_through_a_deferred_import() -> None:
    edges = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycle_path(["a", "b", "c"], edges) == "a -> b -> c -> a"
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


def test_imports_inside_functions_and_relative_imports_are_seen() -> None:
    tree = ast.parse("def f():\n    from .server import Sandbox\n    import c2c_helpers.chunks\n")
    found = [n for node in ast.walk(tree) if isinstance(node, ast.ImportFrom | ast.Import) for n in node.names]
    assert [alias.name for alias in found] == ["Sandbox", "c2c_helpers.chunks"]
    assert resolve("c2c_helpers.chunks.plan_chunks") == "c2c_helpers.chunks"
    assert resolve("requests.adapters") is None


def test_a_docstring_does_not_count_towards_a_function_s_length() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(3))
    tree = ast.parse(f'def f():\n    """Doc.\n\n    More.\n    """\n{body}\n')
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef) and function_lines(node) == 4
