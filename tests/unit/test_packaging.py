"""What `pip install .` puts on a user's machine: the journeymap package only.

The project layout keeps `orchestration/` and `ml/` at the top level; they install as
`journeymap.orchestration` and `journeymap.ml`, so installing journeymap never shadows a
user's own `ml` or `orchestration` package, and tests and benchmarks do not ship.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_FOLDERS = {"journeymap": "journeymap", "ml": "journeymap/ml"}
SHIPPED_FOLDERS["orchestration"] = "journeymap/orchestration"


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in SHIPPED_FOLDERS:
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("journeymap-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_only_the_journeymap_package_is_installed(wheel_names: set[str]) -> None:
    top_levels = {name.split("/")[0] for name in wheel_names}
    packages = {top for top in top_levels if not top.endswith(".dist-info")}
    assert packages == {"journeymap"}
    assert "journeymap/ml/churn.py" in wheel_names
    assert "journeymap/orchestration/definitions.py" in wheel_names


def test_every_python_package_of_the_layout_is_in_the_wheel(wheel_names: set[str]) -> None:
    """A new sub-package must be listed in pyproject.toml, or it would be left out."""
    missing = []
    for folder, installed_as in SHIPPED_FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.relative_to(ROOT / folder).as_posix()
            if f"{installed_as}/{relative}" not in wheel_names:
                missing.append(f"{folder}/{relative}")
    assert missing == []


def test_test_helpers_do_not_ship(wheel_names: set[str]) -> None:
    assert not [name for name in wheel_names if "sample" in name or "bench" in name]
