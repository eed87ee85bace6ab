"""Which packages the wheel holds: the one thing pyproject.toml cannot say by itself.

Everything else (metadata, dependencies, scripts, package data) is in pyproject.toml. The
``find`` directive there cannot be combined with an extra package, and resources/ has to be added
as one: it sits at the top of the checkout but installs as ``engine/resources`` (pyproject.toml's
``package-dir`` maps it), so that no top-level package named ``resources`` is ever installed.
Packages under engine/ and autodiff_gui/ are discovered, so a new subpackage ships without
editing this file.
"""

from setuptools import find_namespace_packages, setup

NOT_PACKAGES = ["__pycache__", "*.__pycache__", "__pycache__.*", "*.__pycache__.*"]

setup(
    packages=[
        *find_namespace_packages(include=["engine", "engine.*", "autodiff_gui", "autodiff_gui.*"],
                                 exclude=NOT_PACKAGES),
        "engine.resources",
        *(f"engine.resources.{name}"
          for name in find_namespace_packages(where="resources", exclude=NOT_PACKAGES)),
    ],
)
