"""The layout docs/architecture.md describes, held against the code: no import cycle between
the project's modules (imports inside functions counted), the validators' parts import
only the ground modules (never each other), the faces sit on top, and each tree stays
small enough at its top to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

ROOTS = {"trail_validators": REPO / "lambda_src", "secure_trail": REPO / "constructs"}
GROUND = {"trail_validators", "trail_validators.contract", "trail_validators.findings", "trail_validators.alerts"}
VALIDATOR_PARTS = ("digests", "access_logs", "posture", "analytics", "evidence")
FACES = ("handlers", "cli")


def _modules() -> dict[str, Path]:
    found = {}
    for top, root in ROOTS.items():
        for path in sorted((root / top).rglob("*.py")):
            if any((root / part).is_symlink() for part in path.relative_to(root).parents):
                continue  # the constructs' link to the validators' contract: one module, counted there
            parts = list(path.relative_to(root).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _canonical(name: str) -> str:
    """The constructs reach the contract through their link: it is the validators' module."""
    if name == "secure_trail.contract" or name.startswith("secure_trail.contract."):
        return "trail_validators" + name[len("secure_trail"):]
    return name


def _imports(name: str, path: Path) -> set[str]:
    """Every project module ``name`` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(head + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in map(_canonical, targets):
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                imported.add(target)
    return imported


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_no_import_cycle_between_the_projects_modules():
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(GRAPH.get(name, ())):
            # A package imports its own modules to re-export them: not a cycle of the layout.
            if target.startswith(f"{name}."):
                continue
            if state.get(target) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(target):] + [target]))
            if not state.get(target):
                visit(target)
        path.pop()
        state[name] = 2

    for module in sorted(GRAPH):
        if not state.get(module):
            visit(module)


@pytest.mark.parametrize("part", VALIDATOR_PARTS)
def test_a_validator_part_imports_only_itself_and_the_ground_modules(part):
    prefix = f"trail_validators.{part}"
    sideways = {(name, target) for name, targets in GRAPH.items() if name == prefix or name.startswith(prefix + ".")
                for target in targets
                if not (target == prefix or target.startswith(prefix + ".") or target in GROUND
                        or target.startswith("trail_validators.contract."))}
    assert not sideways


def test_the_ground_modules_import_no_part_and_no_face():
    for name in GROUND:
        for target in GRAPH[name]:
            assert _canonical(target) in GROUND or target.startswith("trail_validators.contract."), (name, target)


def test_the_contract_imports_nothing_of_the_project():
    # The construct library carries it through a link, without the rest of trail_validators.
    contract = {name: targets for name, targets in GRAPH.items() if name.startswith("trail_validators.contract")}
    assert contract and all(target.startswith("trail_validators.contract") for targets in contract.values()
                            for target in targets)


def test_nothing_below_the_faces_imports_a_face():
    for name, targets in GRAPH.items():
        if name.startswith("trail_validators.") and not name.startswith(tuple(f"trail_validators.{f}" for f in FACES)):
            assert not [t for t in targets if t.startswith(tuple(f"trail_validators.{f}" for f in FACES))], name


@pytest.mark.parametrize(("package", "most"), [("lambda_src/trail_validators", 6), ("constructs/secure_trail", 12)])
def test_each_tree_has_few_modules_at_its_top(package, most):
    assert len(list((REPO / package).glob("*.py"))) <= most


def test_constructs_is_a_source_root_without_init():
    # An __init__.py there would shadow the constructs library that aws-cdk-lib imports.
    assert not (REPO / "constructs" / "__init__.py").exists()


def test_test_files_are_named_after_behaviour_not_how_they_came_about():
    process_words = ("redteam", "red_team", "merge", "issue", "regression", "seed")
    named = [p.relative_to(REPO) for p in (REPO / "tests").rglob("test_*.py")
             if any(word in p.stem for word in process_words)]
    assert not named
