# Two commands do all the set-up on a fresh clone: `make lab` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium

.PHONY: lab test test-fast lint browser chromium benchmark endpoint refresh-notebooks clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# JupyterLab on the course; every lesson uses the embedded local endpoint unless BEDROCK_BACKEND=aws.
# lab-config/ (added to JUPYTER_CONFIG_PATH, nothing written to your own Jupyter settings) turns off the news
# pop-up and update checks, and starts kernels with transport encryption (see lab-config/README.md). The browser
# opens on the first lesson. As root (containers, workshop VMs) Jupyter refuses to start without --allow-root.
FIRST_LESSON := $(notdir $(firstword $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))))
LAB_CONFIG := $(CURDIR)/lab-config
lab: $(STAMP)
	@echo "Starting JupyterLab on the course. Begin with $(FIRST_LESSON) (it opens in the browser)."
	JUPYTER_CONFIG_PATH=$(LAB_CONFIG)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
	BEDROCK_BACKEND=$${BEDROCK_BACKEND:-local} $(VENV)/bin/jupyter lab --notebook-dir=notebooks \
	  --LabApp.default_url=/lab/tree/$(FIRST_LESSON) \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

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

lint: $(STAMP)
	$(PY) -m ruff check .

# Everything CI runs: lint, unit/conformance/browser tests, then nbval over the stored notebooks.
test: $(STAMP) chromium lint
	$(PY) -m pytest tests
	$(PY) -m pytest --nbval notebooks --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider

test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not browser and not notebooks"

browser: $(STAMP) chromium
	$(PY) -m pytest tests -m browser

benchmark: $(STAMP)
	$(PY) -m benchmarks --json

endpoint: $(STAMP)
	$(PY) -m helpers.local_bedrock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts

# Re-execute lessons in place on the local backend and store their outputs (NB=notebooks/03_*.ipynb for one).
NB ?= notebooks/[0-9][0-9]_*.ipynb
refresh-notebooks: $(STAMP)
	for nb in $(NB); do \
	  BEDROCK_BACKEND=local $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.timeout=300 "$$nb" || exit 1; \
	done
