# Two commands do all the set-up on a fresh clone: `make lab` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium

.PHONY: lab wheelhouse dry-run test test-fast lint browser chromium axe benchmark endpoint refresh-notebooks clean \
	examples-toolchains examples-build examples-test examples-clean

# Two installs (install_extra: extra, pip source options): the lab set for learners (`make lab`: what the lessons need, no test tools) and the
# dev set for tests (`make test`: the lab set plus pytest, playwright, ruff, ...). pyproject.toml is the list.
# A room with no internet: `make wheelhouse` on a connected machine, copy the folder, and `make lab` installs
# from ./wheelhouse (or WHEELHOUSE=dir) with the package index switched off.
LAB_STAMP := $(VENV)/.lab-stamp
WHEELHOUSE ?= $(wildcard wheelhouse)
PIP_SOURCE := $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE),)

define install_extra
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(2),,$(PY) -m pip install --quiet --upgrade pip)
	$(PY) -m pip install --quiet $(2) -e '.[$(1)]'
endef

$(STAMP): pyproject.toml
	$(call install_extra,dev,)
	touch $(LAB_STAMP) $(STAMP)

$(LAB_STAMP): pyproject.toml
	$(call install_extra,lab,$(PIP_SOURCE))
	touch $(LAB_STAMP)

# Wheels for the lab set (and the build backend, for the editable install) into ./wheelhouse. Build it on
# the same OS, CPU and Python version as the learners' machines; for a mixed room run it once on each kind
# into the same folder (pip picks the matching wheel).
WHEELHOUSE_DIR ?= wheelhouse
wheelhouse:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip wheel --quiet --wheel-dir $(WHEELHOUSE_DIR) '.[lab]' 'setuptools>=68' wheel
	rm -f $(WHEELHOUSE_DIR)/bedrock_streaming_course-*.whl
	@echo "$$(ls $(WHEELHOUSE_DIR) | wc -l) wheels in $(WHEELHOUSE_DIR); copy it beside the course and run make lab"

# JupyterLab on the course; every lesson uses the embedded local endpoint unless BEDROCK_BACKEND=aws.
# lab-config/ (added to JUPYTER_CONFIG_PATH, nothing written to your own Jupyter settings) turns off the news
# pop-up and update checks, and starts kernels with transport encryption (see lab-config/README.md). The browser
# opens on the first lesson. As root (containers, workshop VMs) Jupyter refuses to start without --allow-root.
FIRST_LESSON := $(notdir $(firstword $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))))
LAB_CONFIG := $(CURDIR)/lab-config
lab: $(LAB_STAMP)
	@echo "Starting JupyterLab on the course. Begin with $(FIRST_LESSON) (it opens in the browser)."
	JUPYTER_CONFIG_PATH=$(LAB_CONFIG)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
	BEDROCK_BACKEND=$${BEDROCK_BACKEND:-local} $(VENV)/bin/jupyter lab --notebook-dir=notebooks \
	  --LabApp.default_url=/lab/tree/$(FIRST_LESSON) \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

# The instructor's dry run: every lesson with papermill on the aws backend, one line per lesson.
# DRY_RUN_ARGS="--only 00 05" for some lessons, "--backend local" to time the offline course.
dry-run: $(LAB_STAMP)
	$(PY) -m tools.dry_run $(DRY_RUN_ARGS)

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

lint: $(STAMP)
	$(PY) -m ruff check .

# Everything CI runs: lint, unit/conformance/browser/examples tests, then nbval over the stored notebooks.
test: $(STAMP) chromium axe lint examples-build
	$(PY) -m pytest tests
	$(PY) -m pytest --nbval notebooks --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider

test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not browser and not notebooks"

browser: $(STAMP) chromium axe
	$(PY) -m pytest tests -m browser

benchmark: $(STAMP)
	$(PY) -m benchmarks --json

endpoint: $(STAMP)
	$(PY) -m helpers.local_bedrock

clean: examples-clean
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts tests/browser/axe/node_modules

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

examples-test: $(STAMP) examples-build
	$(PY) -m pytest tests/examples -m examples

examples-clean:
	rm -rf examples/javascript/node_modules examples/java/target $(EXAMPLES_GO)

# Re-execute lessons in place on the local backend and store their outputs (NB=notebooks/03_*.ipynb for one).
NB ?= notebooks/[0-9][0-9]_*.ipynb
refresh-notebooks: $(STAMP)
	for nb in $(NB); do \
	  BEDROCK_BACKEND=local $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.timeout=300 "$$nb" || exit 1; \
	done
