"""Binder installs the same versions as pyproject.toml, and its scripts are ready to run."""

from __future__ import annotations

import os
import re
import tomllib

from conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin: {line!r}"
        pins[_normalise(match.group(1))] = match.group(2)
    return pins


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared_pins(project) -> dict[str, str]:
    """Every pin of pyproject.toml: the library's dependencies and every optional group."""
    declared = _pins(project["dependencies"])
    for group in project["optional-dependencies"].values():
        declared.update(_pins(group))
    return declared


def test_every_pyproject_dependency_is_an_exact_pin():
    assert _declared_pins(_project())   # _pins fails on the first line that is not an exact pin


def test_binder_requirements_agree_with_pyproject():
    project = _project()
    declared = _declared_pins(project)
    binder = _pins((ROOT / "binder" / "requirements.txt").read_text().splitlines())
    disagree = {n: (v, declared.get(n)) for n, v in binder.items() if declared.get(n) != v}
    assert not disagree, f"binder pin vs pyproject pin: {disagree}"
    missing = sorted(set(_pins(project["dependencies"])) - set(binder))
    assert not missing, f"library dependencies missing from binder/requirements.txt: {missing}"


def test_binder_runtime_and_post_build():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    text = post_build.read_text()
    assert "pip install --no-deps -e ." in text
    assert "jupytext-config set-default-viewer markdown myst" in text


def test_constraints_cover_the_pins():
    """The lock file used by the Makefile pins every direct dependency at the same version."""
    project = _project()
    declared = _declared_pins(project)
    locked = _pins(l for l in (ROOT / "constraints.txt").read_text().splitlines()
                   if not l.startswith("-e"))
    wrong = {n: (v, locked.get(n)) for n, v in declared.items() if locked.get(n) != v}
    assert not wrong, f"pyproject pin vs constraints.txt: {wrong}"


def test_readme_papermill_recipe_runs_without_an_activated_venv(tmp_path):
    """The README's papermill recipe calls the venv's tools by path and passes a list with -y."""
    import json
    import shlex
    import subprocess

    readme = (ROOT / "README.md").read_text()
    recipe = next(line for line in readme.splitlines() if "papermill - " in line)
    command = recipe.split("  #", 1)[0].replace("out.ipynb", shlex.quote(str(tmp_path / "out.ipynb")))
    # --prepare-only: papermill injects the parameters without executing the chapter
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(["bash", "-c", f"set -o pipefail; {command} --prepare-only"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    notebook = json.loads((tmp_path / "out.ipynb").read_text())
    injected = next(c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    source = "".join(injected["source"])
    assert 'provinces = ["BJ", "SH", "GD"]' in source, source
    assert "-y" in recipe and "lists" in recipe
