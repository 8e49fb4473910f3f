"""Layers point one way, and the folders show them.

From the top: ``harness.plugin`` (every hook; nothing imports it) -> ``harness.fixtures``
(the only harness modules besides the plugin and the config that import pytest) ->
``harness.strategies``/``harness.machines`` -> ``harness.testing`` (pytest-free support)
-> ``harness.config``/``harness.adapter``/``harness.modes`` (the bottom of the harness). Beside them
``ui`` (the web app) and under everything ``pipeline`` (the library), which imports
neither ``harness`` nor ``ui``, as ``ui`` never imports ``harness``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIPELINE, UI, HARNESS = ROOT / "pipeline", ROOT / "ui", ROOT / "harness"

COMPOSITION_ROOTS = {"pipeline/cli.py", "pipeline/demo.py"}
"""The ``jobstate`` command and its demo: the only library modules that start the web app."""

HOOK_PREFIX = "pytest_"
PYTEST_ALLOWED = {"harness/plugin.py", "harness/config.py"}
"""Harness modules outside ``harness/fixtures/`` that may import pytest."""

RANKS = {
    "harness.plugin": 5,
    "harness.fixtures": 4,
    "harness.strategies": 3,
    "harness.machines": 3,
    "harness.testing": 2,
    "harness.config": 1,
    "harness.adapter": 1,
    "harness.modes": 0,
}
"""A harness module imports only from its own rank or below (the plugin from any)."""


def imports(source: str, top: str) -> list[str]:
    """Every ``import top...``/``from top... import`` in ``source`` (any depth), with its line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] == top]
    return found


def harness_imports(source: str) -> list[str]:
    """Every import of ``harness`` in ``source``."""
    return imports(source, "harness")


def rank(module: str) -> int | None:
    """The layer of a harness module (``None`` for the package itself)."""
    for prefix, value in sorted(RANKS.items(), key=lambda kv: -len(kv[0])):
        if module == prefix or module.startswith(prefix + "."):
            return value
    return None


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_check_sees_imports_at_any_depth() -> None:
    source = "import os\ndef f():\n    from harness.redis_proc import RedisServer\n"
    assert harness_imports(source) == ["line 3: harness.redis_proc"]
    assert harness_imports("import harness, json") == ["line 1: harness"]
    assert harness_imports("from pipeline import harness_like\nimport harnessed") == []
    assert imports("import pytest\nfrom _pytest import x", "pytest") == ["line 1: pytest"]


def test_ranks_name_every_harness_module() -> None:
    unranked = [_id(p) for p in _modules(HARNESS) if p.name != "__init__.py" or p.parent != HARNESS]
    unranked = [m for m in unranked if rank(_module_name(ROOT / m)) is None]
    assert unranked == [], "give each new harness folder or module a layer in RANKS"


@pytest.mark.parametrize("path", _modules(PIPELINE), ids=_id)
def test_pipeline_imports_neither_harness_nor_ui(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert harness_imports(source) == []
    if _id(path) not in COMPOSITION_ROOTS:
        assert imports(source, "ui") == []


@pytest.mark.parametrize("path", _modules(UI), ids=_id)
def test_ui_imports_no_harness_and_no_pytest(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert harness_imports(source) == []
    assert imports(source, "pytest") == []


@pytest.mark.parametrize("path", _modules(HARNESS), ids=_id)
def test_only_fixture_modules_import_pytest(path: Path) -> None:
    where = _id(path)
    if where.startswith("harness/fixtures/") or where in PYTEST_ALLOWED:
        return
    assert imports(path.read_text(encoding="utf-8"), "pytest") == [], (
        f"{where} imports pytest: move the pytest part to harness/fixtures/"
    )


@pytest.mark.parametrize("path", _modules(HARNESS), ids=_id)
def test_harness_layers_point_down(path: Path) -> None:
    own = rank(_module_name(path))
    if own is None or own == RANKS["harness.plugin"]:
        return
    upward = [
        found
        for found in harness_imports(path.read_text(encoding="utf-8"))
        if (other := rank(found.split(": ")[1])) is not None and other > own
    ]
    assert upward == [], f"{_id(path)} imports a layer above its own"


@pytest.mark.parametrize("path", _modules(ROOT / "harness"), ids=_id)
def test_nothing_imports_the_plugin(path: Path) -> None:
    found = harness_imports(path.read_text(encoding="utf-8"))
    assert not [f for f in found if f.endswith(": harness.plugin")]


@pytest.mark.parametrize("path", _modules(HARNESS), ids=_id)
def test_every_hook_is_in_the_plugin(path: Path) -> None:
    if _id(path) == "harness/plugin.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hooks = [
        f"line {node.lineno}: {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith(HOOK_PREFIX)
    ]
    assert hooks == [], f"{_id(path)} defines hooks: they belong in harness/plugin.py"


def test_no_folder_holds_more_than_a_dozen_modules() -> None:
    crowded = {
        _id(folder): n
        for folder in [HARNESS, *[p for p in HARNESS.rglob("*") if p.is_dir()]]
        if "__pycache__" not in folder.parts
        and (n := len([p for p in folder.glob("*.py") if p.name != "__init__.py"])) > 12
    }
    assert crowded == {}, "name the groups inside as subpackages"


def test_the_plugin_loads_every_fixture_module() -> None:
    tree = ast.parse((HARNESS / "plugin.py").read_text(encoding="utf-8"))
    listed: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
        ):
            listed = [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[attr-defined]
    fixtures = {
        _module_name(p)
        for p in (HARNESS / "fixtures").glob("*.py")
        if p.name not in {"__init__.py", "browser_launch.py", "deprecated.py", "workflow.py"}
    }
    assert fixtures <= set(listed)
