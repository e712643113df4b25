"""The project's own files agree with each other: pyproject, environment.yml, the pinned constraints."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*?)\s*(#.*)?$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(requirement: str) -> tuple[str, str]:
    match = REQUIREMENT.match(requirement)
    assert match, requirement
    return normalise(match.group(1)), match.group(3).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    return dict(parse(r) for r in requirements)


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
