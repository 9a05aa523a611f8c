"""The package's metadata: dependency ranges and extras, the exact lock, the built wheel.

``pip install .`` must give a working ``emo`` without the test, notebook and JAX tools; the
exact lock (requirements.txt with constraints.txt) that the set-up installs must lie inside the
ranges pyproject.toml declares, and every package emo_lib imports must be declared.
"""

import ast
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import emo_lib

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
BASE = [Requirement(r) for r in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(r) for r in reqs] for name, reqs in PROJECT["optional-dependencies"].items()}
LOCKED_EXTRAS = ("jax", "notebooks", "test")  # what the set-up installs from the lock; not the CUDA builds
# Modules emo_lib imports only where an extra is installed (lazily, with a one-line error otherwise).
EXTRA_MODULES = {"jax": "jax", "papermill": "notebooks", "nbformat": "notebooks", "nbclient": "notebooks",
                 "jupyter_client": "notebooks", "IPython": "notebooks", "traitlets": "notebooks"}
# Keras backends the project does not install; code for them runs only when a user picks one.
UNDECLARED_BACKENDS = {"torch"}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


REQUIREMENTS = _pins(ROOT / "requirements.txt")
CONSTRAINTS = _pins(ROOT / "constraints.txt")


def _names(requirements) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements if canonicalize_name(r.name) != "emo-lib"}


def test_runtime_is_light_and_extras_hold_the_tools():
    base = _names(BASE)
    assert {"tensorflow", "keras", "tensorboard", "numpy", "librosa", "soundfile", "opensmile"} <= base
    for tool in ("jax", "jaxlib", "pytest", "nbformat", "papermill", "jupyter", "ipykernel", "nbclient"):
        assert tool not in base, tool
    assert set(EXTRAS) >= {"jax", "test", "notebooks", "gpu"}
    assert _names(EXTRAS["jax"]) == {"jax", "jaxlib"}
    assert {"papermill", "nbformat", "ipykernel", "jupyter"} <= _names(EXTRAS["notebooks"])
    assert "pytest" in _names(EXTRAS["test"])
    assert any(r.name == "emo_lib" and r.extras == {"jax", "notebooks"} for r in EXTRAS["test"])
    assert [(r.name, r.extras) for r in EXTRAS["gpu"]] == [("tensorflow", {"and-cuda"})]
    for requirement in BASE + [r for reqs in EXTRAS.values() for r in reqs if r.name != "emo_lib"]:
        assert requirement.specifier, f"{requirement} has no version range"
        assert any(s.operator == "<" for s in requirement.specifier), f"{requirement} has no upper bound"
    assert PROJECT["requires-python"] == ">=3.11"
    assert PROJECT["dynamic"] == ["version"] and PROJECT["scripts"] == {"emo": "emo_lib.cli:main"}


def test_the_exact_lock_lies_inside_the_declared_ranges():
    declared = _names(BASE) | {n for extra in LOCKED_EXTRAS for n in _names(EXTRAS[extra])}
    assert set(REQUIREMENTS) == declared  # the lock names exactly what pyproject declares
    for name, version in REQUIREMENTS.items():
        assert CONSTRAINTS.get(name) == version, f"{name}: {version} in requirements.txt, " \
                                                 f"{CONSTRAINTS.get(name)} in constraints.txt"
    for requirement in BASE + [r for extra in LOCKED_EXTRAS for r in EXTRAS[extra]] + EXTRAS["gpu"]:
        if requirement.name == "emo_lib":
            continue
        locked = CONSTRAINTS[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(locked), f"locked {requirement.name}=={locked} outside {requirement}"


def _imported_top_level_modules() -> set[str]:
    modules = set()
    for path in (ROOT / "emo_lib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"emo_lib", "__future__"} - UNDECLARED_BACKENDS


def test_every_imported_package_is_declared():
    providers = importlib.metadata.packages_distributions()
    base = _names(BASE)
    for module in sorted(_imported_top_level_modules()):
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        assert distributions, f"emo_lib imports {module}, which no installed distribution provides"
        if module in EXTRA_MODULES:
            assert distributions & _names(EXTRAS[EXTRA_MODULES[module]]), (module, distributions)
        else:
            assert distributions & base, f"emo_lib imports {module} ({distributions}) but does not declare it"


def test_setup_script_installs_the_lock_and_the_test_extra():
    script = (ROOT / "scripts" / "setup_env.sh").read_text()
    assert "-r requirements.txt -c constraints.txt" in script
    assert '-c constraints.txt -e ".[test]"' in script and "--no-deps" not in script


def test_built_wheel_metadata(tmp_path):
    """Build the wheel from a copy of the sources (no build folders in the tree) and read its metadata."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "emo_lib", source / "emo_lib", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"),
                             str(source)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and "setuptools" in result.stderr and "No matching distribution" in result.stderr:
        pytest.skip("no package index reachable for the build backend")
    assert result.returncode == 0, result.stderr
    wheel = next((tmp_path / "dist").glob("emo_lib-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(info).decode())
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert metadata["Version"] == emo_lib.__version__
    assert "emo = emo_lib.cli:main" in entry_points
    assert "emo_lib/model_card.py" in names and not any(n.startswith("tests/") for n in names)
    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    unconditional = {canonicalize_name(r.name) for r in requires if r.marker is None}
    assert unconditional == _names(BASE)
    assert "jax" not in unconditional and "pytest" not in unconditional
    extras = set(metadata.get_all("Provides-Extra"))
    assert {"jax", "test", "notebooks", "gpu"} <= extras
