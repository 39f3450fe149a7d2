"""The house has one direction: ui -> services -> {store, jobs} -> {traces, diff, backends} -> core.

Every import among evaltui's modules (module-level, function-level and TYPE_CHECKING alike) goes
down this order, and no module outside `evaltui.ui` imports Textual, directly or through the
modules it imports.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "evaltui"

# Each layer and the layers it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "traces": {"core"},
    "diff": {"core"},
    "backends": {"core"},
    "store": {"core", "traces"},
    "jobs": {"core", "backends"},
    "judges": {"core", "backends"},  # the published plugin API, re-exporting backends' names
    "services": {"core", "traces", "diff", "backends", "store", "jobs"},
    "ui": {"core", "traces", "diff", "backends", "store", "jobs", "services"},
    "cli": {"core", "traces", "diff", "backends", "store", "jobs", "services", "ui"},
    "": {"cli"},  # evaltui/__init__.py, evaltui/__main__.py
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or (len(parts) == 2 and not (PACKAGE / parts[1]).is_dir()):
        return ""
    return parts[1]


def is_package_root(name: str) -> bool:
    """`evaltui` itself or a name defined in evaltui/__init__.py (`__version__`)."""
    parts = name.split(".")
    return len(parts) == 1 or not (
        (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").exists()
    )


def imported(path: Path) -> list[tuple[int, str]]:
    """Every evaltui module that `path` names in an import statement, anywhere in the file."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "evaltui"]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_import_goes_down_the_layers() -> None:
    wrong = []
    for path in MODULES:
        own = layer_of(module_name(path))
        for line, name in imported(path):
            target = layer_of(name)
            if is_package_root(name) or target == own:
                continue
            if target not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({own or 'evaltui'}) imports {name}")
    assert wrong == []


def test_the_layer_table_knows_every_package() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages <= set(ALLOWED)


def test_no_sql_outside_the_store() -> None:
    """SQL lives in evaltui/store: no other module imports sqlite3 or aiosqlite."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in MODULES
        if layer_of(module_name(path)) != "store"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for line, name in (
            [(node.lineno, a.name) for a in node.names]
            if isinstance(node, ast.Import)
            else [(node.lineno, node.module or "")]
        )
        if name.split(".")[0] in {"sqlite3", "aiosqlite"}
    ]
    assert wrong == []


NON_UI = [
    module_name(path) for path in MODULES if layer_of(module_name(path)) not in {"ui", "cli", ""}
]


def test_no_textual_below_the_ui() -> None:
    """Import every module outside ui/ and cli/ (each in a fresh interpreter, so one cannot hide
    another's import) and check that Textual was not loaded."""
    code = (
        "import importlib, json, sys\n"
        "bad = []\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    for key in [k for k in sys.modules if k.startswith(('evaltui', 'textual'))]:\n"
        "        del sys.modules[key]\n"
        "    importlib.import_module(name)\n"
        "    if 'textual' in sys.modules:\n"
        "        bad.append(name)\n"
        "print(json.dumps(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(NON_UI)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    assert len(NON_UI) > 60  # every module outside ui/ and cli/, not a chosen few


@pytest.mark.parametrize("module", ["evaltui.core.textsafe", "evaltui.store.reader"])
def test_the_textual_check_would_see_an_import(module: str) -> None:
    """The check above is not vacuous: importing Textual alongside a module is seen."""
    code = f"import sys, {module}, textual.app; assert 'textual' in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert done.returncode == 0


def test_no_module_reaches_into_the_stores_private_members() -> None:
    """`store._x` / `self.store._x` only inside evaltui/store/reader.py (RunStore itself)."""
    wrong = []
    for path in MODULES:
        if path == PACKAGE / "store" / "reader.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and ast.unparse(node.value).split(".")[-1] == "store"
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert wrong == []


def test_the_store_is_called_only_from_the_store_with_sql() -> None:
    """`store.fetch(SQL)` is the store package's own tool: no module outside it calls it."""
    wrong = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in MODULES
        if layer_of(module_name(path)) != "store"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr == "fetch"
        and ast.unparse(node.value).split(".")[-1] == "store"
    ]
    assert wrong == []
