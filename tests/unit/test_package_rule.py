"""The package rule (ARCHITECTURE.md), checked over every `import` statement, lazy ones inside functions included:
the engine imports nothing of the project, no service imports another, the CLI imports the engine only, and the
infrastructure takes from the engine only the models its events carry."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "profiler", "planner", "coder", "tester", "sweeper")
PROJECT = ("recast_engine", "recast_common", "recast_devstack", "recast_cli", *SERVICES)

PACKAGES = {
    "recast_engine": ROOT / "libs/engine/recast_engine",
    "recast_common": ROOT / "libs/common/recast_common",
    "recast_devstack": ROOT / "libs/devstack/recast_devstack",
    "recast_cli": ROOT / "libs/cli/recast_cli",
    **{name: ROOT / "services" / name / name for name in SERVICES},
}

# what each package may import of the project, besides itself
ALLOWED = {
    "recast_engine": set(),
    "recast_common": {"recast_engine"},  # only ENGINE_MODELS_IN_EVENTS (see below)
    "recast_devstack": {"recast_common"},
    "recast_cli": {"recast_engine"},
    **{name: {"recast_engine", "recast_common"} for name in SERVICES},
}


# the engine modules whose models the events carry (a verdict has one definition, the engine's): pure data, so the
# infrastructure depending on them adds no logic of the engine to it and no loop (the engine imports nothing)
ENGINE_MODELS_IN_EVENTS = {"recast_engine.verify.verdict", "recast_engine.verify.warnings"}


def imported_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module", "find_spec", "__import__",
        ) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.add(node.args[0].value)
    return found


def imported_packages(source: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(source)} & set(PROJECT)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_a_package_imports_only_what_the_package_rule_allows(package: str) -> None:
    folder = PACKAGES[package]
    assert folder.is_dir(), folder
    offending = []
    for source in sorted(folder.rglob("*.py")):
        for name in sorted(imported_packages(source) - {package} - ALLOWED[package]):
            offending.append(f"{source.relative_to(ROOT)} imports {name}")
    assert not offending, "\n".join(offending)


def test_the_infrastructure_takes_from_the_engine_only_the_models_events_carry() -> None:
    offending = []
    for source in sorted(PACKAGES["recast_common"].rglob("*.py")):
        for module in sorted(imported_modules(source)):
            if module.split(".")[0] == "recast_engine" and module not in ENGINE_MODELS_IN_EVENTS:
                offending.append(f"{source.relative_to(ROOT)} imports {module}")
    assert not offending, "\n".join(offending)


def test_the_rule_sees_lazy_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from planner.synthesis import search\n    import importlib\n"
                      "    importlib.import_module('coder.render')\n")
    assert imported_packages(source) == {"planner", "coder"}
