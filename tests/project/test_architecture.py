"""The import architecture of c2c_helpers and c2c_sandbox, read from the source with ``ast`` (nothing imported).

The rules go by folder, so a new module is covered the day it is written (no list of modules is kept here):

- the *core* is every module directly in ``c2c_helpers/`` but ``__init__``; the *surface* is
  ``c2c_helpers/__init__``; each subpackage (``resume/``, ``realtime/``, ``lab/``, ``tools/``) is a *room*
  around the core; all of ``c2c_sandbox`` is the *sandbox*;
- every ``import`` is an arrow, at module level or inside a function (a deferred import is still an arrow), and
  so are imports under ``if TYPE_CHECKING:`` (the client must not need the sandbox even to be type-checked);
- an import of ``a.b.c`` is an arrow to ``a.b.c`` only, not to the packages above it, which Python also runs;
  ``from a.b import c`` is an arrow to the module ``a.b.c`` when there is one, else to ``a.b`` taking ``c``.

ARCHITECTURE.md draws the same rules; it must name every module file and no other.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from collections.abc import Iterable, Iterator, Mapping, Set
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("c2c_helpers", "c2c_sandbox")
MAX_MODULE_LINES = 450
MAX_FUNCTION_CODE_LINES = 60
#: what the client (the core and the rooms it builds on) never imports: none of it comes with `pip install .`
#: but tqdm, which only the c2c command draws bars with
HEAVY = ("c2c_sandbox", "ipywidgets", "tqdm", "imageio_ffmpeg", "flask", "werkzeug", "botocore")
#: the lab modules the surface may import, for connect() and make_test_clip()
SURFACE_LAB = frozenset({"c2c_helpers.lab.connect", "c2c_helpers.lab.testclip"})
#: the rooms that may import anything (no cycle, and never from the sandbox)
FREE_ROOMS = frozenset({"lab", "tools"})
RESUME = "c2c_helpers.resume"
UPLOAD = "c2c_helpers.upload"
UPLOAD_MAX_MODULES = 12
#: what a reader of the upload must read: the core as it stands (about 2,070 code lines), with a little room; a
#: change that grows it past this should move what upload_file does not need out of its path instead
UPLOAD_MAX_CODE_LINES = 2100
#: what upload_file's closure never holds: the pairing step and the rooms
UPLOAD_NEVER = ("c2c_helpers.pairing", "c2c_helpers.lab", "c2c_helpers.realtime", "c2c_helpers.tools")

#: module -> {each module it imports: the names a ``from`` import takes from it (empty for ``import x`` and
#: for a submodule)}; project modules by their dotted name, anything else by the name as written
Graph = Mapping[str, Mapping[str, Set[str]]]


# -- reading the source -------------------------------------------------------------------------------------


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


@cache
def source(name: str) -> str:
    return module_files()[name].read_text()


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(source(name), filename=str(module_files()[name]))


@cache
def packages() -> frozenset[str]:
    return frozenset(name for name, path in module_files().items() if path.name == "__init__.py")


def resolve(target: str) -> str | None:
    """The project module an imported name lands in (the longest existing prefix), or None outside it."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in module_files():
            return candidate
    return None


def import_base(node: ast.ImportFrom, name: str) -> str:
    """The absolute module a ``from`` import in module `name` reads from."""
    base = node.module or ""
    if not node.level:
        return base
    anchor = (name if name in packages() else name.rpartition(".")[0]).split(".")
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, base] if base else anchor)


def arrows(name: str, module: ast.Module) -> Iterator[tuple[str, str | None]]:
    """(target, the name taken from it or None) for each import anywhere in `module` (of project module `name`)."""
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield resolve(alias.name) or alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = import_base(node, name)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in module_files():
                    yield submodule, None
                else:
                    yield resolve(base) or base, alias.name


@cache
def graph() -> dict[str, dict[str, frozenset[str]]]:
    """The project's imports (see `Graph`)."""
    edges: dict[str, dict[str, frozenset[str]]] = {}
    for name in module_files():
        targets: dict[str, set[str]] = {}
        for target, taken in arrows(name, tree(name)):
            if target != name:
                targets.setdefault(target, set()).update([taken] if taken else [])
        edges[name] = {target: frozenset(names) for target, names in targets.items()}
    return edges


def static_all(module: ast.Module) -> frozenset[str]:
    """The names a module's ``__all__`` lists (literal lists only; none when there is no ``__all__``)."""
    for node in module.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return frozenset(ast.literal_eval(value))
    return frozenset()


@cache
def published() -> dict[str, frozenset[str]]:
    """Package -> the names its ``__init__`` publishes in ``__all__``."""
    return {name: static_all(tree(name)) for name in packages()}


#: the tokens that make no line a line of code
NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def code_line_numbers(text: str) -> set[int]:
    """The lines of `text` that hold code: not blank, not only a comment, not part of a docstring."""
    docs: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docs.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in NOT_CODE:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines - docs


@cache
def code_lines(name: str) -> frozenset[int]:
    return frozenset(code_line_numbers(source(name)))


# -- the rules, as functions of a graph (the self-tests at the bottom run them over made-up ones) ------------


def room(name: str, packages: Set[str]) -> str:
    """Where a module sits, by folder: ``sandbox``, ``surface`` (c2c_helpers/__init__), ``core`` (directly in
    c2c_helpers/), the subpackage's folder (``resume``, ``realtime``, ``lab``, ``tools``...), or ``outside``."""
    parts = name.split(".")
    if parts[0] == "c2c_sandbox":
        return "sandbox"
    if parts[0] != "c2c_helpers":
        return "outside"
    if len(parts) == 1:
        return "surface"
    if len(parts) == 2 and name not in packages:
        return "core"
    return parts[1]


def refusal(source: str, target: str, taken: Set[str], packages: Set[str], published: Mapping[str, Set[str]]) -> str:
    """Why the folder rules refuse the arrow `source` -> `target` (taking `taken` from it), or "" when they don't."""
    here, there = room(source, packages), room(target, packages)
    if here == "sandbox":
        return "" if there in ("sandbox", "outside") else SANDBOX_NEVER
    if here in FREE_ROOMS or there == here or (there == "core" and here in ("surface", "resume", "realtime")):
        return ""
    if there in ("outside", "sandbox"):
        top = target.split(".")[0]
        return f"{label(here)} never imports {top}: {LIGHT}" if top in HEAVY else ""
    if here == "surface":
        return "" if there == "core" or target in SURFACE_LAB else SURFACE_ONLY
    if here not in ("core", "resume", "realtime"):
        return f"{label(here)} has no rule: add one to tests/project/test_architecture.py and ARCHITECTURE.md"
    if target == RESUME and here in ("core", "realtime"):
        hidden = sorted(set(taken) - set(published.get(RESUME, ())))
        return f"{RESUME} does not publish {', '.join(hidden)}: {PUBLISH}" if hidden else ""
    if there == "resume" and here in ("core", "realtime"):
        return f"{label(here)} takes resume's published names only: {PUBLISH}"
    return ONLY[here]


def label(where: str) -> str:
    return {"core": "the core", "surface": "c2c_helpers/__init__"}.get(where, f"c2c_helpers/{where}/")


SANDBOX_NEVER = (
    "the sandbox never imports the client (a stand-in that shared the client's code would share its mistakes): "
    "give c2c_sandbox its own version of what it needs"
)
LIGHT = "the client loads only requests and the standard library; use it from lab/ or tools/"
SURFACE_ONLY = (
    "c2c_helpers/__init__ publishes the core, and of lab/ only connect() and make_test_clip() "
    "(lab.connect, lab.testclip): publish the rest in its own package's __all__ (c2c_helpers.lab, c2c_helpers.realtime)"
)
PUBLISH = (
    f"write `from {RESUME} import name` and list the name in c2c_helpers/resume/__init__.py's __all__, "
    f"never import `{RESUME}.<module>`"
)
ONLY = {
    "core": "the core never imports a subpackage (resume/, realtime/, lab/ and tools/ build on the core, not the "
    "other way round) nor the package's __init__: move what it needs into the core, or import the core module "
    "that defines it",
    "resume": "resume/ builds on the core only: move what it needs into the core",
    "realtime": f"realtime/ builds on the core and {RESUME}'s published names only: move what it needs into the core",
}


def offences(graph: Graph, rooms: Set[str], packages: Set[str], published: Mapping[str, Set[str]]) -> list[str]:
    """``source -> target: why, what to do`` for each arrow out of `rooms` that the folder rules refuse."""
    found = []
    for source in sorted(graph):
        if room(source, packages) not in rooms:
            continue
        for target, taken in sorted(graph[source].items()):
            why = refusal(source, target, taken, packages, published)
            if why:
                found.append(f"{source} -> {target}: {why}")
    return found


def lab_importers(graph: Graph, packages: Set[str]) -> list[str]:
    """Arrows into lab/ from outside lab/ and tools/ (the surface's two named ones aside)."""
    found = []
    for source in sorted(graph):
        here = room(source, packages)
        for target in sorted(graph[source]):
            if (
                room(target, packages) == "lab"
                and here not in FREE_ROOMS
                and not (here == "surface" and target in SURFACE_LAB)
            ):
                found.append(f"{source} -> {target}")
    return found


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
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


def cycle_path(component: list[str], edges: Mapping[str, Iterable[str]]) -> str:
    """One concrete loop through a component, for the message: ``a -> b -> a``."""
    start, members = component[0], set(component)
    path, seen = [start], {start}
    while True:
        nxt = sorted(t for t in edges[path[-1]] if t in members)
        if start in nxt and len(path) > 1:
            return " -> ".join([*path, start])
        fresh = [t for t in nxt if t not in seen]
        if not fresh:
            return " -> ".join([*path, nxt[0]]) if nxt else " <-> ".join(component)
        path.append(fresh[0])
        seen.add(fresh[0])


def closure(graph: Graph, start: str) -> dict[str, list[str]]:
    """Every project module `start` imports, directly or not (itself included), each with the path that reaches
    it (breadth first, so a shortest one)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        here = queue.pop(0)
        for target in sorted(graph.get(here, ())):
            if target in graph and target not in paths:
                paths[target] = [*paths[here], target]
                queue.append(target)
    return paths


# -- the rules, kept ----------------------------------------------------------------------------------------


def test_the_scan_sees_both_packages_and_every_room_the_rules_name() -> None:
    rooms = {room(name, packages()) for name in module_files()}
    assert {"surface", "core", "resume", "realtime", "lab", "tools", "sandbox"} <= rooms
    assert graph()["c2c_helpers"] and graph()[UPLOAD]  # the rules cannot pass on an empty graph
    assert published()[RESUME] and published()["c2c_helpers"]


def test_no_import_cycle() -> None:
    edges = {name: [t for t in targets if t in module_files()] for name, targets in graph().items()}
    found = [cycle_path(c, edges) for c in cycles(edges)]
    assert not found, "import cycles (break each by moving what both sides need below them):\n" + "\n".join(found)


def test_the_sandbox_never_imports_the_client() -> None:
    found = offences(graph(), {"sandbox"}, packages(), published())
    assert not found, "\n".join(found)


def test_the_core_imports_only_the_core_and_resume_s_published_names() -> None:
    found = offences(graph(), {"core"}, packages(), published())
    assert not found, "\n".join(found)


@pytest.mark.parametrize("where", ["resume", "realtime", "surface", "every other folder"])
def test_each_room_imports_only_what_its_folder_allows(where: str) -> None:
    named = {"resume", "realtime", "surface", "sandbox", "core"} | FREE_ROOMS
    rooms = {where} if where in named else {room(n, packages()) for n in module_files()} - named
    found = offences(graph(), rooms, packages(), published())
    assert not found, "\n".join(found)


def test_upload_file_s_closure_is_small_and_holds_no_pairing_lab_realtime_or_tools() -> None:
    """What a reader of upload_file must read: its import closure, resume/ left out (its own room; its
    modules are traversed, not counted), in modules and in code lines (docstrings, comments, blanks aside)."""
    paths = {n: p for n, p in closure(graph(), UPLOAD).items() if room(n, packages()) != "resume"}
    lines = {name: len(code_lines(name)) for name in paths}
    never = [" -> ".join(p) for n, p in paths.items() if any(n == f or n.startswith(f + ".") for f in UPLOAD_NEVER)]
    listing = "\n".join(f"  {name:<28} {lines[name]:>5}" for name in sorted(paths, key=lambda n: -lines[n]))
    summary = (
        f"{len(paths)} modules, {sum(lines.values())} code lines; at most {UPLOAD_MAX_MODULES}, {UPLOAD_MAX_CODE_LINES}"
    )
    message = f"{UPLOAD}'s closure (resume/ left out): {summary}\n{listing}"
    assert not never, (
        f"{message}\nit reaches what an upload never needs (move the arrow's target out of the upload's path):\n"
        + "\n".join(never)
    )
    assert len(paths) <= UPLOAD_MAX_MODULES and sum(lines.values()) <= UPLOAD_MAX_CODE_LINES, (
        f"{message}\nmerge or drop what upload_file does not need"
    )


def test_no_module_over_450_lines() -> None:
    long = {name: n for name in module_files() if (n := len(source(name).splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split each by concept):\n" + "\n".join(
        f"{n}: {k}" for n, k in long.items()
    )


def test_no_function_over_60_code_lines() -> None:
    long = {}
    for name in module_files():
        for qualname, node in functions(tree(name)):
            lines = function_code_lines(node, code_lines(name))
            if lines > MAX_FUNCTION_CODE_LINES:
                long[f"{name}:{qualname}"] = lines
    assert not long, (
        f"functions over {MAX_FUNCTION_CODE_LINES} code lines (docstring, comments and blank lines not counted; "
        "split each into named steps):\n" + "\n".join(f"{n}: {k}" for n, k in long.items())
    )


def function_code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, code: Set[int]) -> int:
    """The code lines from ``def`` to the function's last line (documentation with runnable examples is
    encouraged, and is not what makes a function hard to read)."""
    return sum(1 for line in range(node.lineno, (node.end_lineno or node.lineno) + 1) if line in code)


def functions(module: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, nested ones too, with a qualified name."""
    for node in ast.iter_child_nodes(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, f"{prefix}{node.name}.")
        else:
            yield from functions(node, prefix)


# -- the notebooks ------------------------------------------------------------------------------------------


def cell_tree(text: str) -> ast.Module | None:
    """A code cell as Python: lines of IPython magics and shell escapes (``%``, ``!``) left out; None when the
    rest does not parse either."""
    kept = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(kept))
    except SyntaxError:
        return None


@cache
def notebook_cells() -> list[tuple[str, ast.Module]]:
    """("notebook cell N", the cell's tree) for every code cell of notebooks/*.ipynb that parses."""
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for number, cell in enumerate(json.loads(path.read_text())["cells"]):
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            module = cell_tree(text) if cell["cell_type"] == "code" else None
            if module is not None:
                found.append((f"notebooks/{path.name} cell {number}", module))
    return found


def project(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def refused_notebook_import(
    node: ast.Import | ast.ImportFrom, packages: Set[str], published: Mapping[str, Set[str]]
) -> str:
    """Why the rule refuses a notebook's import (a module that is not a package, or names its package does not
    publish), or "" when it doesn't."""
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names if project(alias.name) and alias.name not in packages]
        return f"import {', '.join(modules)}: not a package; import the package that publishes what you use" * bool(
            modules
        )
    module = node.module or ""
    if node.level or not project(module):
        return ""
    statement = f"from {module} import {', '.join(alias.name for alias in node.names)}"
    if module not in packages:
        return f"{statement}: {module} is not a package; {where_published(node.names, published)}"
    hidden = [alias for alias in node.names if alias.name not in published.get(module, ())]
    if hidden:
        return f"{statement}: {module}.__all__ does not list {', '.join(a.name for a in hidden)}; " + where_published(
            hidden, published
        )
    return ""


def where_published(aliases: Iterable[ast.alias], published: Mapping[str, Set[str]]) -> str:
    """Which packages publish each name: what the notebook should import instead."""
    homes: dict[str, list[str]] = {}
    for alias in aliases:
        found = sorted(package for package, names in published.items() if alias.name in names)
        homes.setdefault(" or ".join(found), []).append(alias.name)
    return "; ".join(
        f"{home} publishes {', '.join(names)}"
        if home
        else f"no package publishes {', '.join(names)}: list them in the __all__ of the package that owns them"
        for home, names in homes.items()
    )


def test_notebooks_import_only_what_a_package_publishes() -> None:
    cells = notebook_cells()
    assert cells, "no notebook cells found: the rule would pass on nothing"
    found = [
        f"{where}: {why}"
        for where, module in cells
        for node in ast.walk(module)
        if isinstance(node, ast.Import | ast.ImportFrom)
        if (why := refused_notebook_import(node, packages(), published()))
    ]
    assert not found, "notebooks import past a package's __all__:\n" + "\n".join(found)


def exercise_checks(module: ast.Module) -> Iterator[tuple[str, str]]:
    """(project module, name) for each ``check_*`` name a notebook cell imports from the project, or reads as an
    attribute of a project module it imported (``lab.check_x(...)``)."""
    aliases = {}
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and project(node.module or "") and not node.level:
            for alias in node.names:
                if alias.name.startswith("check_"):
                    yield node.module or "", alias.name
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
    for node in ast.walk(module):
        if isinstance(node, ast.Attribute) and node.attr.startswith("check_"):
            dotted = ast.unparse(node.value).split(".")
            owner = ".".join([aliases.get(dotted[0], dotted[0]), *dotted[1:]])
            if project(owner) and owner in module_files():
                yield owner, node.attr


def home_of(module: str, name: str) -> str:
    """The module that defines `name` as `module` publishes it, following ``from x import name`` re-exports; a
    name none of them defines or imports (a lazy ``__getattr__``) stays with the last module reached."""
    seen = set()
    while module in module_files() and module not in seen:
        seen.add(module)
        following = None
        for node in tree(module).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
                return module
            if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
                base = import_base(node, module)
                original = next(a.name for a in node.names if (a.asname or a.name) == name)
                following, name = resolve(f"{base}.{original}") or base, original
        if following is None or following == module:
            return module
        module = following
    return module


@cache
def notebook_checks() -> dict[tuple[str, str], list[str]]:
    """(module, check name) -> where the notebooks use it."""
    found: dict[tuple[str, str], list[str]] = {}
    for where, module in notebook_cells():
        for key in exercise_checks(module):
            found.setdefault(key, []).append(where)
    return found


def test_the_notebooks_exercise_checks_resolve_to_lab() -> None:
    checks = notebook_checks()
    assert checks, "the notebooks use no check_* name: the rule would pass on nothing"
    found = [
        f"{module}.{name} is defined in {home} (used in {where[0]}): an exercise check lives in c2c_helpers/lab; "
        f"move it there (a thin check in lab/ may call what it grades) and import it from c2c_helpers.lab"
        for (module, name), where in sorted(checks.items())
        if room(home := home_of(module, name), packages()) != "lab"
    ]
    assert not found, "\n".join(found)


def test_no_module_outside_lab_defines_an_exercise_check() -> None:
    names = {name for _, name in notebook_checks()}
    found = [
        f"{module} defines {node.name}, which the notebooks call as an exercise check: lesson checks live only in "
        f"c2c_helpers/lab; move it there or give the function here another name"
        for module in sorted(module_files())
        if room(module, packages()) != "lab"
        for node in ast.walk(tree(module))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names
    ]
    assert not found, "\n".join(found)


def test_only_lab_and_tools_import_lab() -> None:
    found = lab_importers(graph(), packages())
    assert not found, (
        "lab/ is for the notebooks; only lab/, tools/ and the surface's connect() and make_test_clip() import it "
        "(move what the importer needs into the core):\n" + "\n".join(found)
    )


# -- ARCHITECTURE.md ----------------------------------------------------------------------------------------


def documented_modules() -> set[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    return set(re.findall(r"\b((?:c2c_helpers|c2c_sandbox)/[\w/]+\.py)\b", text))


def test_architecture_md_names_every_module_file() -> None:
    files = {path.relative_to(ROOT).as_posix() for path in module_files().values()}
    missing = sorted(files - documented_modules())
    assert not missing, "module files ARCHITECTURE.md does not name (add a row to its table):\n" + "\n".join(missing)


def test_every_module_architecture_md_names_exists() -> None:
    files = {path.relative_to(ROOT).as_posix() for path in module_files().values()}
    ghosts = sorted(documented_modules() - files)
    assert not ghosts, "ARCHITECTURE.md names modules that do not exist (fix or drop the row):\n" + "\n".join(ghosts)


# -- the checks above, checked ------------------------------------------------------------------------------


def made_up(*lines: str) -> dict[str, dict[str, frozenset[str]]]:
    """A graph from ``"a -> b"`` or ``"a -> b: name, name"`` lines."""
    edges: dict[str, dict[str, frozenset[str]]] = {}
    for line in lines:
        arrow, _, names = line.partition(":")
        source, _, target = (part.strip() for part in arrow.partition("->"))
        edges.setdefault(source, {})[target] = frozenset(n.strip() for n in names.split(",") if n.strip())
        edges.setdefault(target, {})
    return edges


def test_the_rules_catch_a_forbidden_arrow_in_each_room() -> None:
    pkgs, pub = {"c2c_helpers", RESUME, "c2c_helpers.lab", "c2c_helpers.realtime"}, {RESUME: {"Manifest"}}
    bad = made_up(
        "c2c_helpers.pool -> c2c_helpers.lab.widgets",
        "c2c_helpers.upload -> c2c_helpers.resume.manifest",
        "c2c_helpers.upload -> c2c_helpers.resume: Manifest, write_private",
        "c2c_helpers.parts -> tqdm.auto",
        "c2c_helpers.resume.trust -> c2c_helpers.realtime.growing",
        "c2c_helpers.realtime.upload -> c2c_helpers.tools.fleet",
        "c2c_helpers -> c2c_helpers.lab.widgets",
        "c2c_sandbox.s3.gateway -> c2c_helpers.chunks",
        "c2c_helpers.newroom.x -> c2c_helpers.chunks",
    )
    found = offences(bad, {"core", "resume", "realtime", "surface", "sandbox", "newroom"}, pkgs, pub)
    assert [f.partition(":")[0] for f in found] == [
        "c2c_helpers -> c2c_helpers.lab.widgets",
        "c2c_helpers.newroom.x -> c2c_helpers.chunks",
        "c2c_helpers.parts -> tqdm.auto",
        "c2c_helpers.pool -> c2c_helpers.lab.widgets",
        "c2c_helpers.realtime.upload -> c2c_helpers.tools.fleet",
        "c2c_helpers.resume.trust -> c2c_helpers.realtime.growing",
        "c2c_helpers.upload -> c2c_helpers.resume",
        "c2c_helpers.upload -> c2c_helpers.resume.manifest",
        "c2c_sandbox.s3.gateway -> c2c_helpers.chunks",
    ]
    assert "does not publish write_private" in "\n".join(found)
    assert lab_importers(bad, pkgs) == [
        "c2c_helpers -> c2c_helpers.lab.widgets",
        "c2c_helpers.pool -> c2c_helpers.lab.widgets",
    ]
    good = made_up(
        "c2c_helpers.upload -> c2c_helpers.resume: Manifest",
        "c2c_helpers.realtime.upload -> c2c_helpers.resume: Manifest",
        "c2c_helpers.realtime.upload -> c2c_helpers.pool",
        "c2c_helpers -> c2c_helpers.lab.connect",
        "c2c_helpers.lab.connect -> c2c_sandbox",
        "c2c_helpers.tools.cli -> tqdm",
        "c2c_sandbox.api -> flask",
    )
    assert offences(good, {"core", "resume", "realtime", "surface", "sandbox", "lab", "tools"}, pkgs, pub) == []
    assert lab_importers(good, pkgs) == []


def test_cycles_finds_a_loop_through_a_deferred_import() -> None:
    edges = made_up("a -> b", "b -> c", "c -> a", "d -> a")
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycle_path(["a", "b", "c"], edges) == "a -> b -> c -> a"
    assert cycles(made_up("a -> b")) == []
    deferred = ast.parse("def f():\n    from .server import Sandbox\n    import c2c_helpers.chunks\n")
    assert [t for t, _ in arrows("c2c_sandbox.cli", deferred)] == ["c2c_sandbox.server", "c2c_helpers.chunks"]


def test_closure_and_code_lines() -> None:
    assert closure(made_up("a -> b", "b -> c", "x -> a"), "a") == {"a": ["a"], "b": ["a", "b"], "c": ["a", "b", "c"]}
    text = (
        '"""Module doc."""\n\n# a comment\ndef f():\n    """Doc.\n\n    More.\n    """\n'
        '    x = (1,\n         2)  # two lines\n    return """not\na docstring"""\n'
    )
    assert sorted(code_line_numbers(text)) == [4, 9, 10, 11, 12]
    node = ast.parse(text).body[1]
    assert isinstance(node, ast.FunctionDef) and function_code_lines(node, code_line_numbers(text)) == 5


def test_the_notebook_rules_read_cells_as_written() -> None:
    cell = cell_tree(
        "%load_ext autoreload\n!ls\nfrom c2c_helpers.lab.exercises import check_x\n"
        "import c2c_helpers.lab as lab\nlab.check_y()\n"
    )
    assert cell is not None and cell_tree("%%bash\nls -l |") is None
    pub = {"c2c_helpers.lab": {"check_x"}, "c2c_helpers": set()}
    refused = [
        refused_notebook_import(n, set(pub), pub) for n in cell.body if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    assert refused == [
        "from c2c_helpers.lab.exercises import check_x: c2c_helpers.lab.exercises is not a package; "
        "c2c_helpers.lab publishes check_x",
        "",
    ]
    assert sorted(exercise_checks(cell)) == [("c2c_helpers.lab", "check_y"), ("c2c_helpers.lab.exercises", "check_x")]
    assert static_all(ast.parse("__all__ = ['a', 'b']")) == {"a", "b"}
