"""Layers point one way: the library (``pipeline/``) never imports the plugin (``harness/``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[1] / "pipeline"


def harness_imports(source: str) -> list[str]:
    """Every ``import harness...``/``from harness... import`` in ``source`` (any depth)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] == "harness"]
    return found


def test_the_check_sees_imports_at_any_depth() -> None:
    source = "import os\ndef f():\n    from harness.redis_proc import RedisServer\n"
    assert harness_imports(source) == ["line 3: harness.redis_proc"]
    assert harness_imports("import harness, json") == ["line 1: harness"]
    assert harness_imports("from pipeline import harness_like\nimport harnessed") == []


@pytest.mark.parametrize(
    "path", sorted(PIPELINE.rglob("*.py")), ids=lambda p: str(p.relative_to(PIPELINE))
)
def test_pipeline_module_imports_nothing_from_harness(path: Path) -> None:
    assert harness_imports(path.read_text(encoding="utf-8")) == []
