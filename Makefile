# Two commands for a newcomer: `make demo` builds the embedded default, `make test` runs the tests.
# Both install the locked dependencies into .venv first (quick when nothing changed).
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
UV_VERSION := 0.13.9
INSTALLED := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: install demo test test-fast benchmarks clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# --compile-bytecode: TensorFlow's thousands of modules are compiled once here, not by each stage
# process (where PYTHONDONTWRITEBYTECODE is set, every import of TensorFlow would recompile them: 10+ s)
$(INSTALLED): $(BIN)/uv uv.lock pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --quiet --compile-bytecode --python $(BIN)/python
	touch $(INSTALLED)

install: $(INSTALLED)

demo: install
	edgeforge compose --check
	dvc repro
	edgeforge report

test: install
	python -m pytest -q

test-fast: install
	python -m pytest -q -m "not slow"

benchmarks: install
	python benchmarks/incremental.py

clean:
	rm -rf build .pytest_cache
