"""What lets people reuse, cite and publish the book: licences, the data statement, the citation
file, the version, the changelog and the publishing workflow. Fast; no site build."""

from __future__ import annotations

import re
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, is_notebook, source_of, toc_files

DATA = ROOT / "data"
SOURCES = DATA / "SOURCES.yaml"
VENV_BIN = Path(sys.executable).parent
CFFCONVERT = ROOT / ".venv" / "cffconvert" / "bin" / "cffconvert"
LICENCES = {"CC-BY-4.0", "CC0-1.0", "MIT"}
KINDS = {"published", "input", "frozen"}
REQUIRED = ("what", "kind", "source", "licence", "terms")


def _version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


# Licences

def test_licence_files_ship_and_pyproject_matches():
    mit = (ROOT / "LICENSE").read_text()
    assert mit.startswith("MIT License") and "Permission is hereby granted" in mit
    content = (ROOT / "LICENSE-CONTENT").read_text()
    assert "Attribution 4.0 International Public License" in content
    assert "Section 3 -- License Conditions." in content, "the CC BY 4.0 legal code is incomplete"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT", "the library (code) is MIT; LICENSE says so"
    assert project["license-files"] == ["LICENSE"]


def test_readme_has_a_licence_section():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Licence", 1)
    assert len(section) == 2, "README.md has no '## Licence' section"
    assert "CC BY 4.0" in section[1] and "MIT" in section[1]


def test_footer_names_both_licences():
    footer = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["extra_footer"]
    for needed in ("{version}", "{license}", "{cite}", "CC BY 4.0", "MIT"):
        assert needed in footer, f"the site footer lacks {needed!r}"


# Data: every file states its source and terms

def _data_files() -> list[str]:
    return sorted(path.relative_to(DATA).as_posix() for path in DATA.rglob("*")
                  if path.is_file() and path != SOURCES and "__pycache__" not in path.parts
                  and not path.name.startswith("."))


def _sources() -> dict:
    return yaml.safe_load(SOURCES.read_text())["files"]


def check_data_statement(files: list[str], sources: dict) -> list[str]:
    """Every problem with the data statement, one line each (empty when all is well)."""
    problems = [f"data/{f}: no entry in data/SOURCES.yaml (state its source and terms, or do not ship it)"
                for f in files if f not in sources]
    problems += [f"data/SOURCES.yaml names data/{f}, which does not exist" for f in sources if f not in files]
    for name, entry in sources.items():
        for key in REQUIRED:
            if not str((entry or {}).get(key, "")).strip():
                problems.append(f"data/{name}: '{key}' is missing or empty")
        if not entry:
            continue
        if entry.get("licence") and entry["licence"] not in LICENCES:
            problems.append(f"data/{name}: licence {entry['licence']!r} is not one of {sorted(LICENCES)}")
        if entry.get("kind") and entry["kind"] not in KINDS:
            problems.append(f"data/{name}: kind {entry['kind']!r} is not one of {sorted(KINDS)}")
        if entry.get("kind") == "frozen" and not str(entry.get("command", "")).strip():
            problems.append(f"data/{name}: a frozen result must name the command that made it")
    return problems


def test_every_data_file_states_source_and_terms():
    problems = check_data_statement(_data_files(), _sources())
    assert not problems, "\n".join(problems)


def test_frozen_results_name_the_same_command_as_the_data_statement():
    """A frozen JSON that records its own command must agree with data/SOURCES.yaml."""
    import json

    for name, entry in _sources().items():
        if entry["kind"] == "frozen" and name.endswith(".json"):
            recorded = json.loads((DATA / name).read_text()).get("command")
            if recorded is not None:
                assert recorded == entry["command"], f"data/{name}: {recorded!r} vs {entry['command']!r}"


def test_the_data_check_catches_an_unstated_file_and_a_frozen_result_without_command():
    sources = _sources()
    files = _data_files() + ["frozen/kw_estimate.json"]
    assert any("frozen/kw_estimate.json: no entry" in p for p in check_data_statement(files, sources))
    sources = {**sources, "frozen/kw_estimate.json": {**sources["china/borders.csv"], "kind": "frozen"}}
    assert any("must name the command" in p for p in check_data_statement(files, sources))
    sources["frozen/kw_estimate.json"] = {**sources["frozen/kw_estimate.json"], "terms": " "}
    assert any("'terms' is missing" in p for p in check_data_statement(files, sources))


def test_third_party_notice_ships_for_mit_data():
    notices = (ROOT / "LICENSE-THIRD-PARTY.md").read_text()
    for name, entry in _sources().items():
        if entry["licence"] == "MIT":
            assert f"data/{name}" in notices, f"data/{name} is MIT: its copyright notice must ship"


def test_each_data_row_carries_its_source():
    """The CSV inputs repeat their source on every row (what the chapters print beside a number)."""
    import pandas as pd

    for name, entry in _sources().items():
        if name.endswith(".csv"):
            table = pd.read_csv(DATA / name)
            source_columns = [c for c in table.columns if c.endswith("source")]
            assert source_columns, f"data/{name} has no source column"
            assert table[source_columns].notna().all().all() and \
                (table[source_columns].astype(str).apply(lambda c: c.str.strip()) != "").all().all(), \
                f"data/{name} has rows without a source"


# Citation and version

def test_citation_file_is_valid_cff():
    if not CFFCONVERT.exists():
        pytest.fail(f"{CFFCONVERT} is missing: `make test` installs it from tests/requirements-cffconvert.txt")
    result = subprocess.run([str(CFFCONVERT), "--validate", "-i", str(ROOT / "CITATION.cff")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_cffconvert_pins_are_exact():
    for line in (ROOT / "tests" / "requirements-cffconvert.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[^\s]+", line), f"not an exact pin: {line!r}"


def test_version_is_the_same_everywhere():
    version = _version()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["version"] == version, "CITATION.cff's version differs from pyproject.toml's"
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert cff["repository-code"] == repository, "CITATION.cff's repository-code differs from _config.yml's"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[?([0-9][^\]\s]*)\]?", changelog, flags=re.M)
    assert headings and headings[0] == version, \
        f"CHANGELOG.md's newest entry is {headings[:1]}, pyproject.toml's version is {version}"


def test_changelog_speaks_of_every_chapter_in_the_current_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    current = re.split(r"^## ", changelog, flags=re.M)[1]
    for page in toc_files():
        if page.startswith("chapters/") and is_notebook(source_of(page)):
            assert Path(page).name in current, f"CHANGELOG.md's {_version()} entry does not mention {page}"


def test_how_to_cite_lists_the_chapters_from_their_front_matter():
    page = (ROOT / "book" / "how_to_cite.md").read_text()
    assert "{{ book_version }}" in page
    # the table is made from every chapter page's `chapter:` front matter (test_book_structure.py)
    assert "```{chapter-papers}\n```" in page


# Publishing

def _workflow() -> tuple[Path, dict]:
    (path,) = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    return path, yaml.safe_load(path.read_text())


def test_workflow_passes_actionlint():
    actionlint = VENV_BIN / "actionlint"
    assert actionlint.exists(), f"{actionlint} is missing: it comes with the test extra (pyproject.toml)"
    # shellcheck and pyflakes integrations off: the same checks on every machine.
    result = subprocess.run([str(actionlint), "-no-color", "-oneline", "-shellcheck=", "-pyflakes="],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_runs_the_readme_test_command_and_deploys_main_with_the_pages_actions():
    path, workflow = _workflow()
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML reads `on` as True
    assert "push" in triggers and "pull_request" in triggers
    readme = (ROOT / "README.md").read_text()
    test_command = re.search(r"^(make test)\b", readme, flags=re.M).group(1)
    steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
    assert any(s.get("run", "").strip() == test_command for s in steps), f"{path.name} does not run {test_command!r}"
    uses = [s.get("uses", "") for s in steps]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    assert "main" in upload["if"]
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    deploy = next(j for j in workflow["jobs"].values()
                  if any(s.get("uses", "").startswith("actions/deploy-pages@") for s in j.get("steps", [])))
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert "main" in deploy["if"]


def test_readme_says_how_a_fork_publishes():
    readme = (ROOT / "README.md").read_text()
    assert "repository.url" in readme and "_config.yml" in readme
    assert "GitHub Pages" in readme and "GitHub Actions" in readme


# The measurement behind the reproducibility page and benchmarks/binder_budget.py

def test_measure_children_sees_a_childs_peak_memory_and_its_time():
    from mig_lib.core.sitebuild import measure_children

    # The child holds 300 MB for a moment, frees it and lives on: the peak must still be seen.
    script = "import time; a = b'x' * 300_000_000; time.sleep(0.3); del a; time.sleep(0.5)"
    with measure_children() as measured:
        subprocess.run([sys.executable, "-c", script], check=True)
    record = measured.as_record()
    assert 300 <= record["peak_mb"] < 300 + 200, record
    assert 0.8 <= record["wall_seconds"] < 60, record
    assert record["machine"]["cores"] >= 1 and record["machine"]["memory_gb"] > 0


def test_measure_children_is_not_inflated_by_a_large_parent():
    from mig_lib.core.sitebuild import measure_children

    # A forked child's peak resident size before exec is its parent's (Linux keeps it in the reaped
    # children's ru_maxrss): a test worker grown large by earlier tests must not pass its size on.
    ballast = bytearray(700_000_000)
    script = "import time; a = b'x' * 300_000_000; time.sleep(0.3); del a; time.sleep(0.5)"
    with measure_children() as measured:
        subprocess.run([sys.executable, "-c", script], check=True)
    del ballast
    assert 300 <= measured.as_record()["peak_mb"] < 300 + 200, measured.as_record()


def test_a_fork_that_has_not_executed_is_not_measured_as_itself():
    import psutil

    from mig_lib.core.sitebuild import _not_yet_executed

    pid = os.fork()
    if pid == 0:   # the child never execs: it is this process's image until it exits
        time.sleep(1.0)
        os._exit(0)
    try:
        assert _not_yet_executed(psutil.Process(pid))
    finally:
        os.waitpid(pid, 0)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
    try:
        time.sleep(0.5)
        assert not _not_yet_executed(psutil.Process(child.pid))
    finally:
        child.wait()


def test_measure_children_leaves_out_a_process_started_before_the_block():
    from mig_lib.core.sitebuild import measure_children

    # A 400 MB process left over from earlier work (a lingering worker) ends inside the block:
    # neither its memory nor its reaped peak belongs to what the block ran.
    lingering = subprocess.Popen([sys.executable, "-c", "import time; a = b'x' * 400_000_000; time.sleep(2)"])
    time.sleep(1.0)
    script = "import time; a = b'x' * 300_000_000; time.sleep(0.3); del a; time.sleep(0.5)"
    with measure_children() as measured:
        subprocess.run([sys.executable, "-c", script], check=True)
        lingering.wait()
    assert 300 <= measured.as_record()["peak_mb"] < 300 + 200, measured.as_record()


def test_measure_children_adds_up_a_process_tree():
    from mig_lib.core.sitebuild import measure_children

    # Two grandchildren of 200 MB each alive at once, under one child (as dask workers under a kernel).
    worker = "import time; a = b'x' * 200_000_000; time.sleep(1.5)"
    parent = (f"import subprocess, sys; ps = [subprocess.Popen([sys.executable, '-c', {worker!r}]) for _ in range(2)]; "
              "[p.wait() for p in ps]")
    with measure_children() as measured:
        subprocess.run([sys.executable, "-c", parent], check=True)
    assert measured.as_record()["peak_mb"] >= 400, measured.as_record()


def test_a_cached_notebook_without_measurement_is_dropped_so_the_build_measures_it(tmp_path):
    import jupytext
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    from mig_lib.core import sitebuild

    page = sitebuild.executed_pages()[0]
    source = ROOT / f"{page}.md"
    cache = get_cache(tmp_path / ".jupyter_cache")
    cache.cache_notebook_bundle(CacheBundleIn(jupytext.read(source), str(source)), check_validity=False)
    sitebuild.store_measurement(tmp_path / sitebuild.MEASUREMENTS_NAME, page, {"peak_mb": 1.0})
    assert sitebuild.forget_unmeasured(tmp_path) == [] and len(cache.list_cache_records()) == 1
    (tmp_path / sitebuild.MEASUREMENTS_NAME).write_text("{}")
    assert sitebuild.forget_unmeasured(tmp_path) == [page] and cache.list_cache_records() == []
