# driftlens: `make demo` sets up and runs the offline demo; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
# Rules call the `driftlens` command: put the virtual environment first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup demo test bench clean

$(BIN)/driftlens: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,slurm,timm,lpips]'
	touch $@

setup: $(BIN)/driftlens

demo: setup
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES)

test: setup
	$(BIN)/pytest

clean:
	rm -rf results .snakemake logs benchmarks/out
