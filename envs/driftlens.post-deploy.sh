#!/usr/bin/env bash
# Run by `snakemake --use-conda` inside the new environment: install driftlens from the workflow's folder.
set -euo pipefail
pip install "${DRIFTLENS_SOURCE:?the Snakefile sets DRIFTLENS_SOURCE to the workflow folder}"
