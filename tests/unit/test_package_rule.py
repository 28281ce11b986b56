"""The package rule (ARCHITECTURE.md), checked over every `import` statement, lazy ones inside functions included:
the engine imports nothing of the project, no service imports another, the CLI imports the engine only."""
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
    "recast_common": set(),
    "recast_devstack": {"recast_common"},
    "recast_cli": {"recast_engine"},
    **{name: {"recast_engine", "recast_common"} for name in SERVICES},
}


def imported_packages(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module", "find_spec", "__import__",
        ) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.add(node.args[0].value.split(".")[0])
    return {name for name in found if name in PROJECT}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_a_package_imports_only_what_the_package_rule_allows(package: str) -> None:
    folder = PACKAGES[package]
    assert folder.is_dir(), folder
    offending = []
    for source in sorted(folder.rglob("*.py")):
        for name in sorted(imported_packages(source) - {package} - ALLOWED[package]):
            offending.append(f"{source.relative_to(ROOT)} imports {name}")
    assert not offending, "\n".join(offending)


def test_the_rule_sees_lazy_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from planner.synthesis import search\n    import importlib\n"
                      "    importlib.import_module('coder.render')\n")
    assert imported_packages(source) == {"planner", "coder"}
