"""`snakemake --use-conda`: the environment file survives being copied, and its post-deploy script installs
driftlens from the workflow folder (conda itself is not installed here, so no environment is built)."""

import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ENV = REPO / "envs" / "driftlens.yaml"


def test_environment_file_names_no_relative_path():
    env = yaml.safe_load(ENV.read_text())
    entries = [item for item in env["dependencies"] if isinstance(item, str)]
    entries += [item for block in env["dependencies"] if isinstance(block, dict) for item in block.get("pip", [])]
    assert "pip" in entries and any(item.startswith("python") for item in entries)
    assert not [item for item in entries if "/" in item or item.startswith((".", "-e"))]


def test_post_deploy_script_installs_driftlens_from_the_workflow_folder(tmp_path):
    """Run as Snakemake runs it (a copy in another folder, inside the environment), with a stand-in pip."""
    script = tmp_path / "conda" / "abc123.post-deploy.sh"
    script.parent.mkdir()
    script.write_text((REPO / "envs" / "driftlens.post-deploy.sh").read_text())
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "pip").write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'pip-args'}\n")
    (fake_bin / "pip").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}", "DRIFTLENS_SOURCE": str(REPO)}
    subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, check=True)
    command = (tmp_path / "pip-args").read_text().split()
    assert command[0] == "install" and Path(command[1]) == REPO
    assert 'name = "driftlens"' in (Path(command[1]) / "pyproject.toml").read_text()
    del env["DRIFTLENS_SOURCE"]
    missing = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "DRIFTLENS_SOURCE" in missing.stderr
