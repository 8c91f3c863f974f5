# Why People Move — build the website, run every test, measure speed.
# `make book` and `make test` create .venv from the pins when it is missing or stale.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# cffconvert needs jsonschema<4, which the book's environment cannot have: a venv of its own.
CFFCONVERT := $(VENV)/cffconvert/bin/cffconvert

.PHONY: book test test-unit test-chapters test-site unit bench vault montecarlo clean distclean browser page

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[book,test]"
	touch $(STAMP)

$(CFFCONVERT): tests/requirements-cffconvert.txt | $(STAMP)
	$(PYTHON) -m venv $(VENV)/cffconvert
	$(VENV)/cffconvert/bin/python -m pip install --quiet -r tests/requirements-cffconvert.txt
	touch $(CFFCONVERT)

## book: the website, into _build/html (warnings are errors)
book: $(STAMP)
	$(PY) -m mig_lib.core.sitebuild

## page: one page only, e.g. `make page PAGE=chapters/01_peer_effects.md` (into _build/page_<name>)
page: $(STAMP)
	$(PY) -m mig_lib.core.sitebuild --page $(PAGE)

## test: unit tests, every chapter through papermill, the website in a real browser
# Three streams, one after another, each with its own pytest session and temporary folder: the unit
# tests, the chapters (each through papermill with its CI parameters), and the site (built at book
# size, then read in headless Chromium). Run together (make -j3) they timed out a full-page browser
# screenshot on two cores, so they run in turn. tests/test_open_book.py validates CITATION.cff and lints the workflow;
# test_open_book_site.py reads the site that test_site.py built (same stream).
test: $(STAMP) $(CFFCONVERT) browser
	@$(MAKE) --no-print-directory test-unit test-chapters test-site

test-unit: $(STAMP) $(CFFCONVERT)
	@mkdir -p _build/pytest
	$(PY) -m pytest -n 2 --durations=20 --basetemp=_build/pytest/unit tests/unit tests/test_binder.py tests/test_open_book.py tests/test_book_structure.py

# The chapter stream is two pytest sessions side by side, one per core: each chapter runs its CI
# parameters once and reruns them (identical records, one BLAS thread) in one process, so the pages are
# split whole. (pytest-xdist's --dist loadgroup would do this, but with pytest 9 it no longer keeps a
# group on one worker.) The second -k is the negation of the first: together they select every test.
CHAPTERS_A := 01_peer_effects or (02_kennan_walker and not 02_kennan_walker_estimation)
CHAPTER_PYTEST = $(PY) -m pytest -p no:xdist -p no:cacheprovider --durations=10 tests/test_chapters.py
test-chapters: $(STAMP)
	@mkdir -p _build/pytest
	@echo "chapters, two sessions: -k \"$(CHAPTERS_A)\" (log below when both end) and its complement"
	@$(CHAPTER_PYTEST) --basetemp=_build/pytest/chapters-a -k "$(CHAPTERS_A)" \
	    > _build/pytest/chapters-a.log 2>&1 & first=$$!; \
	$(CHAPTER_PYTEST) --basetemp=_build/pytest/chapters-b -k "not ($(CHAPTERS_A))"; second=$$?; \
	wait $$first; first=$$?; \
	echo "== chapters, -k \"$(CHAPTERS_A)\""; cat _build/pytest/chapters-a.log; \
	echo "chapter sessions: exit $$first (-k \"$(CHAPTERS_A)\"), exit $$second (the rest)"; \
	test $$first -eq 0 && test $$second -eq 0

test-site: $(STAMP) browser
	@mkdir -p _build/pytest
	$(PY) -m pytest -p no:xdist --durations=15 --basetemp=_build/pytest/site tests/test_site.py tests/test_open_book_site.py

## unit: the fast unit tests only
unit: $(STAMP)
	$(PY) -m pytest tests/unit -n 2

## vault: regenerate chapter 2's regression vault (data/regression/kw_vault.json) after a deliberate
## change to the Kennan-Walker model; tests/unit/kw/test_kw_regression_vault.py compares against it
vault: $(STAMP)
	NUMBA_NUM_THREADS=1 $(PY) -m mig_lib.kw.regression_vault

## montecarlo: chapter 2's large Monte Carlo of the estimator at book size (200 replications on a Dask
## LocalCluster of two workers) into data/montecarlo/kw_estimation.json, which the estimation page shows
montecarlo: $(STAMP)
	$(PY) -m mig_lib.kw.montecarlo --replications 200 --workers 2

## bench: speed measurements (ratios measured side by side in one run)
bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Debian's Chromium for the site test; installed when missing and we are root.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the site test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "WARNING: /usr/bin/chromium missing and not root: the site test will be skipped"; \
	  fi; \
	fi

clean:
	rm -rf _build _static book/_vendor .pytest_cache .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
