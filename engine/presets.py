"""The preset programs shipped in ``resources/presets``, found from a checkout or an install.

In a checkout (and an editable install) they sit in ``resources/`` at the top of the project; a
wheel installs that folder as ``engine/resources``. No top-level package named ``resources`` is
ever installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .files import read_program_file
from .language import Program, parse

DEFAULT = "three-step"


def resources_dir() -> Path:
    """The folder holding presets, icons and styles."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "resources", here.parent / "resources"):
        if (candidate / "presets").is_dir():
            return candidate
    raise FileNotFoundError("the app's resources folder is missing; reinstall the package")


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path
    description: str

    def source(self) -> str:
        return read_program_file(self.path)

    def program(self) -> Program:
        return parse(self.source(), self.name)


# The order a learner meets them: the tutorial's loss first.
_ORDER = ["three-step", "multi-path", "regression", "neuron", "network", "moons", "shared-node"]


def presets() -> list[Preset]:
    """Every shipped preset, the tutorial's first."""
    found = []
    for path in (resources_dir() / "presets").glob("*.py"):
        program = parse(read_program_file(path), path.stem)
        found.append(Preset(path.stem, path, program.description.removeprefix(f"{path.stem}: ")))
    rank = {name: i for i, name in enumerate(_ORDER)}
    return sorted(found, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def preset(name: str) -> Preset:
    """The preset called ``name``; KeyError names the ones that exist."""
    for p in presets():
        if p.name == name:
            return p
    raise KeyError(f"no preset called {name!r}; the presets are "
                   f"{', '.join(p.name for p in presets())}")
