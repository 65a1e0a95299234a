# Two commands do all the set-up on a fresh clone: `make lab` and `make test`.
# Every target that installs or starts the course calls the launcher, `python -m helpers.course` (the same
# commands without make, on any OS: see README): it installs uv from PyPI once (into your cache folder), then exactly the
# versions in uv.lock into $(VENV). After editing pyproject.toml's dependencies, `make lock` re-resolves uv.lock.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CHROMIUM ?= /usr/bin/chromium
COURSE = $(PYTHON) -m helpers.course --venv $(VENV)

.PHONY: lab install-dev lock upgrade wheelhouse dry-run site test test-fast lint browser chromium axe benchmark endpoint \
	refresh-notebooks clean examples-toolchains examples-build examples-test examples-clean

# Two sets: the lab set for learners (`make lab`: what the lessons need, no test tools) and the dev set for
# tests (`make test`: the lab and site sets plus pytest, playwright, ruff, ...). pyproject.toml lists them,
# uv.lock pins every package of both (with hashes).
# A room with no internet: `make wheelhouse` on a connected machine, copy the folder, and `make lab` installs
# from ./wheelhouse (or WHEELHOUSE=dir) with the package index switched off.
WHEELHOUSE ?=
WHEELHOUSE_ARG := $(if $(WHEELHOUSE),--wheelhouse $(WHEELHOUSE),)

# The stamp says "the test set is installed" to scripts that wait for it (the target of the same name works too).
install-dev:
	$(COURSE) install dev
	touch $(VENV)/.installed-stamp

$(VENV)/.installed-stamp: pyproject.toml uv.lock
	$(COURSE) install dev
	touch $@

# Re-resolve uv.lock after a change to pyproject.toml (keeps every other pin); `make upgrade` moves every
# package to its newest allowed version. Commit uv.lock with the change.
lock:
	$(COURSE) lock

upgrade:
	$(COURSE) lock --upgrade

# Wheels for the locked lab set, uv and the build backend into ./wheelhouse. Build it on the same OS, CPU and
# Python version as the learners' machines; for a mixed room run it once on each kind into the same folder.
WHEELHOUSE_DIR ?= wheelhouse
wheelhouse:
	$(COURSE) wheelhouse $(WHEELHOUSE_DIR)

# JupyterLab on the course (the launcher's `lab`): every lesson uses the embedded local endpoint unless
# BEDROCK_BACKEND=aws. lab-config/ goes on JUPYTER_CONFIG_PATH (nothing written to your own Jupyter settings:
# no news pop-up or update checks, encrypted kernel transport, see lab-config/README.md); the browser opens on
# the first lesson; as root (containers, workshop VMs) it adds --allow-root.
lab:
	$(COURSE) $(WHEELHOUSE_ARG) lab $(LAB_ARGS)

# The instructor's dry run: every lesson with papermill on the aws backend, one line per lesson.
# DRY_RUN_ARGS="--only 00 05" for some lessons, "--backend local" to time the offline course.
dry-run:
	$(COURSE) dry-run $(DRY_RUN_ARGS)

# The lessons with their stored outputs as a static site in build/site/ (open build/site/index.html).
site:
	$(COURSE) site

# Debian's Chromium for the browser test. In CI (root) it is installed when missing;
# elsewhere the browser test skips with a message saying how to install it.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "note: $(CHROMIUM) is missing; the browser test will skip (sudo apt-get install chromium)"; \
	  fi; \
	fi

# axe-core for the browser test's accessibility check, at the version tests/browser/axe/package-lock.json pins.
AXE := tests/browser/axe/node_modules/.package-lock.json
axe: $(AXE)
$(AXE): tests/browser/axe/package.json tests/browser/axe/package-lock.json
	cd tests/browser/axe && npm ci --no-audit --no-fund --prefer-offline --loglevel=error
	touch $@

lint: install-dev
	$(PY) -m ruff check .

# Everything CI runs (the launcher's `test`): lint, unit/conformance/browser/examples tests, then nbval over the
# stored notebooks. Chromium, axe-core and the examples' builds come first: they need apt, npm and make.
test: chromium axe examples-build
	$(COURSE) test

test-fast:
	$(COURSE) --fast test

browser: install-dev chromium axe
	$(PY) -m pytest tests -m browser

benchmark: install-dev
	$(PY) -m benchmarks --json

endpoint:
	$(COURSE) endpoint

clean: examples-clean
	rm -rf $(VENV) build .pytest_cache .ruff_cache test-artifacts tests/browser/axe/node_modules

# AWS's streaming example in JavaScript, Java and Go (examples/): each build downloads what its lock or
# build file pins (npm's, Maven's and Go's own caches keep it between runs) and is redone only when its
# sources change. The Python one needs nothing beyond .venv. The tests (marker `examples`) run this too.
EXAMPLES_NODE := examples/javascript/node_modules/.package-lock.json
EXAMPLES_JAR := examples/java/target/stream-claude.jar
EXAMPLES_GO := examples/go/stream-claude

examples-toolchains:
	@examples/check_toolchains.sh

examples-build: $(EXAMPLES_NODE) $(EXAMPLES_JAR) $(EXAMPLES_GO)

$(EXAMPLES_NODE): examples/javascript/package.json examples/javascript/package-lock.json | examples-toolchains
	cd examples/javascript && npm ci --no-audit --no-fund --prefer-offline --loglevel=error
	touch $@

$(EXAMPLES_JAR): examples/java/pom.xml $(wildcard examples/java/src/main/java/example/*.java) | examples-toolchains
	cd examples/java && mvn -B -q -ntp -DskipTests package
	touch $@

# GOTOOLCHAIN=local: never fetch another Go toolchain behind the user's back; the check above names it instead.
$(EXAMPLES_GO): examples/go/go.mod examples/go/go.sum $(wildcard examples/go/*.go) | examples-toolchains
	cd examples/go && GOTOOLCHAIN=local go build -mod=readonly -o stream-claude .

examples-test: install-dev examples-build
	$(PY) -m pytest tests/examples -m examples

examples-clean:
	rm -rf examples/javascript/node_modules examples/java/target $(EXAMPLES_GO)

# Re-execute lessons in place on the local backend and store their outputs (NB=notebooks/03_*.ipynb for one).
NB ?= notebooks/[0-9][0-9]_*.ipynb
refresh-notebooks: install-dev
	for nb in $(NB); do \
	  BEDROCK_BACKEND=local $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.timeout=300 "$$nb" || exit 1; \
	done
