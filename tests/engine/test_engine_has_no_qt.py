"""``engine`` is pure Python: it imports and trains with Qt made unimportable, and importing it
never loads a Qt module."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2")


def run_python(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


ALL_ENGINE_MODULES = """
    import importlib, pkgutil
    import engine
    names = ["engine"] + [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]
    for name in names:
        importlib.import_module(name)
"""


def test_every_engine_module_imports_and_trains_with_qt_blocked():
    out = run_python(f"""
        import sys

        class BlockQt:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {QT!r}:
                    raise ImportError(f"Qt is blocked: {{name}}")
                return None

        sys.meta_path.insert(0, BlockQt())
        {textwrap.indent(textwrap.dedent(ALL_ENGINE_MODULES), "        ").strip()}
        print(len(names), "modules")

        from engine.language import parse
        from engine.presets import preset
        from engine.train import Trainer
        from engine.formats import to_dot, to_json, to_mermaid

        result = Trainer(preset("three-step").program(), lr=0.1).run(100)
        assert result.status == "converged", result.status
        assert abs(result.final["w"] - 2) < 1e-6
        trainer = Trainer(parse("w = Value(0.0)\\nL = (w - 2)**2\\n"))
        items = list(trainer.steps())
        graph = trainer.snapshot()
        for export in (to_dot, to_json, to_mermaid):
            export(graph)
        print("trained", result.final["w"])
    """)
    assert "trained" in out
    assert int(out.split()[0]) >= 10  # the walk found the whole package


def test_importing_the_engine_loads_no_qt_module():
    out = run_python(f"""
        import sys
        {textwrap.indent(textwrap.dedent(ALL_ENGINE_MODULES), "        ").strip()}
        from engine.presets import preset
        from engine.train import Trainer
        Trainer(preset("network").program(), lr=0.05).run(3)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {QT!r})
        print("loaded:", loaded)
    """)
    assert out.strip() == "loaded: []"


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=lambda p: p.name)
def test_no_engine_source_mentions_a_qt_import(path):
    text = path.read_text(encoding="utf-8")
    for name in QT:
        assert f"import {name}" not in text and f"from {name}" not in text, path
