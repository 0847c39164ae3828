# Two entry points (see README): `make test` and `make quickstart`.
# Both create .venv when missing and install the project in editable mode with its dev extra.

VENV ?= .venv
PY := $(VENV)/bin/python
# On CPU-only machines that carry a local CPU wheel of torch below 2.14, this picks it instead of a
# multi-GB CUDA build; anywhere else it simply resolves to a recent torch.
TORCH_SPEC ?= torch>=2.5,<2.14
PYTEST_WORKERS ?= 2

.PHONY: install test lint typecheck unit quickstart

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

typecheck: install
	$(VENV)/bin/mypy src/uio_agent

unit: install
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --durations=15

test: lint typecheck unit

quickstart: install
	$(VENV)/bin/uio-agent quickstart
