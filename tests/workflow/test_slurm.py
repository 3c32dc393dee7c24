"""The workflow on a real SLURM cluster, through the slurm profile and the cluster-generic fallback.

The cluster: one already running (left running), else the single-node cluster of
``../shared/tools/local-slurm.sh``, started here and stopped after. Outside CI (``CI=true``) the tests
are skipped when SLURM is not installed. The node has no GPU, so the GPU rules get ``gpu=0`` here, and
it has no accounting, so job states come from ``squeue``. Every Snakemake run is killed after a time
limit: a hung run fails the test instead of hanging CI.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from driftlens.artifacts import read_probe

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"
PROFILES = REPO / "workflow" / "profiles"
LOCAL_SLURM = REPO.parent / "shared" / "tools" / "local-slurm.sh"
IN_CI = os.environ.get("CI", "").lower() == "true"
RULES = sorted({name for path in [SNAKEFILE, *(REPO / "workflow" / "rules").glob("*.smk")]
                for name in re.findall(r"^rule (\w+):", path.read_text(), re.MULTILINE)} | {"render_mini"})
# (the render rule is one per experiment, render_{experiment}; the test experiment is "mini")
# What this test cluster needs on top of the shipped profile: no accounting (squeue for job states, no
# account), quick status checks (the plugin waits 40 s by default), and the per-job SLURM logs kept.
TEST_CLUSTER = {"slurm-status-command": "squeue", "slurm-no-account": True,
                "slurm-init-seconds-before-status-checks": 1, "slurm-keep-successful-logs": True}
# Hang guards, far above the expected times: on 2 cores shared with other heavy jobs the mini run through
# SLURM took 9 to 12 minutes, a failing run 1 to 2.
RUN_LIMIT_S = 1200
FAILURE_LIMIT_S = 300
# pytest's own limit for tests that may also build the local mini run (up to 1200 s) in their set-up.
SETUP_AND_RUN_S = 1200 + RUN_LIMIT_S + 60
# Sourced by every bash that SLURM jobs start (BASH_ENV): for each command run inside a job, its job id,
# SLURM's own record of the job (limits, comment naming the rule) and the command.
RECORDER = """if [ -n "${{SLURM_JOB_ID:-}}" ]; then
  printf '%s\\t%s\\t%s\\n' "$SLURM_JOB_ID" "$(scontrol show job --oneliner "$SLURM_JOB_ID")" \\
    "${{BASH_EXECUTION_STRING:-}}" >> {record}
fi
"""

pytestmark = pytest.mark.slow


def _cluster_is_running():
    """Whether a SLURM controller answers or runs here: then it is someone else's, not ours to stop."""
    if shutil.which("scontrol") is None:
        return False
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=60)
    return "is UP" in ping.stdout or subprocess.run(["pgrep", "-x", "slurmctld"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def slurm_cluster():
    """A SLURM cluster to submit to: the running one, or else local-slurm.sh's, started and stopped here."""
    if not IN_CI and shutil.which("sbatch") is None:
        pytest.skip("SLURM is not installed (no sbatch); these tests run in CI (CI=true), which starts a cluster")
    if _cluster_is_running():
        yield
        return
    start = subprocess.run(["timeout", "-k", "10", "300", "bash", str(LOCAL_SLURM), "start"],
                           capture_output=True, text=True)
    try:
        assert start.returncode == 0, f"could not start a SLURM cluster with {LOCAL_SLURM}:\n{start.stderr[-3000:]}"
        yield
    finally:
        subprocess.run(["timeout", "-k", "10", "120", "bash", str(LOCAL_SLURM), "stop"], capture_output=True)


def _test_profile(folder, cpu_only=True, **changes):
    """The shipped slurm profile made fit for the test cluster, plus ``changes``.

    Args:
        folder (Path): Where to write the profile's config.yaml.
        cpu_only (bool, optional): Every rule at gpu=0, as the cluster has no GPU. Default: True
        **changes: Top-level profile keys to set.

    Returns:
        Path: ``folder``.
    """
    profile = yaml.safe_load((PROFILES / "slurm" / "config.yaml").read_text())
    if cpu_only:
        for rule in RULES:
            profile["set-resources"].setdefault(rule, {})["gpu"] = 0
    profile.update(TEST_CLUSTER)
    profile.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def _submit(workdir, profiles, *targets, limit_s=RUN_LIMIT_S):
    """Run the workflow in ``workdir`` with ``profiles``, killed after ``limit_s``; jobs record themselves.

    Returns:
        SimpleNamespace: ``returncode``, ``output`` (stdout and stderr), ``seconds``, ``jobs`` (job id,
        ``scontrol show job`` line and command, for each driftlens command run inside a SLURM job).
    """
    record = workdir / "slurm-jobs.tsv"
    recorder = workdir / "record-slurm-job.sh"
    recorder.write_text(RECORDER.format(record=record))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "BASH_ENV": str(recorder)}
    command = ["timeout", "-k", "30", str(limit_s), sys.executable, "-m", "snakemake",
               "--snakefile", str(SNAKEFILE), "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
               *[arg for profile in profiles for arg in ("--profile", str(profile))], *targets]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    jobs = [line.split("\t") for line in record.read_text().splitlines()] if record.exists() else []
    return SimpleNamespace(returncode=done.returncode, output=done.stdout + done.stderr,
                           seconds=time.monotonic() - started, jobs=[job for job in jobs if "driftlens " in job[-1]])


def _artifacts(workdir):
    return sorted(str(path.relative_to(workdir)) for path in (workdir / "results").rglob("*") if path.is_file())


def _profile_resource(rule, name):
    """What the shipped slurm profile asks for ``rule``'s first attempt with small inputs (as Snakemake would)."""
    profile = yaml.safe_load((PROFILES / "slurm" / "config.yaml").read_text())
    expression = profile["set-resources"].get(rule, {}).get(name, profile["default-resources"][name])
    return eval(str(expression), {"attempt": 1, "input": SimpleNamespace(size_mb=0)})


def _slurm_limits(scontrol_line):
    """(rule, memory in MB, time limit in minutes) of a job, from its ``scontrol show job`` line."""
    fields = dict(re.findall(r"(\S+?)=(\S*)", scontrol_line))
    rule = re.fullmatch(r"rule_(\w+?)(?:_wildcards_.*)?", fields["Comment"]).group(1)
    hours, minutes, _ = map(int, fields["TimeLimit"].split(":"))
    return rule, int(fields["MinMemoryNode"].rstrip("M")), 60 * hours + minutes


@pytest.fixture(scope="module")
def slurm_mini_run(slurm_cluster, tmp_path_factory, mini_run):
    """The local mini run's experiment, run again through the slurm profile: (workdir, submission result)."""
    workdir = tmp_path_factory.mktemp("slurm_mini")
    shutil.copy(mini_run / "config.yaml", workdir / "config.yaml")
    run = _submit(workdir, [_test_profile(workdir / "profile")])
    assert run.returncode == 0, f"the slurm run failed (exit {run.returncode}):\n{run.output[-6000:]}"
    print(f"\nslurm profile: {len(re.findall(r'submitted with SLURM jobid', run.output))} jobs "
          f"in {run.seconds:.0f} s")
    return workdir, run


@pytest.mark.timeout(SETUP_AND_RUN_S)
def test_slurm_run_builds_what_a_local_run_builds(slurm_mini_run, mini_run):
    workdir, _ = slurm_mini_run
    assert _artifacts(workdir) == _artifacts(mini_run)


@pytest.mark.timeout(SETUP_AND_RUN_S)
def test_every_job_ran_inside_its_slurm_job(slurm_mini_run):
    workdir, run = slurm_mini_run
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", run.output)
    assert submitted, run.output[-3000:]
    job_ids = {job_id for job_id, _ in submitted}
    assert len(job_ids) == len(submitted)
    assert {job[0] for job in run.jobs} == job_ids
    for job_id, log in submitted:
        assert Path(log).is_file() and Path(log).name == f"{job_id}.log"
        assert Path(log).is_relative_to(workdir / ".snakemake" / "slurm_logs")


@pytest.mark.timeout(SETUP_AND_RUN_S)
def test_every_job_gets_the_memory_and_time_of_its_rule(slurm_mini_run):
    _, run = slurm_mini_run
    limits = [_slurm_limits(slurm) for _, slurm, _ in run.jobs]
    for rule, memory_mb, minutes in limits:
        assert (memory_mb, minutes) == (_profile_resource(rule, "mem_mb"), _profile_resource(rule, "runtime")), rule
    assert len({memory_mb for _, memory_mb, _ in limits}) > 1  # rules differ: per-rule resources reach SLURM


def test_unknown_partition_fails_at_once_naming_it(slurm_cluster, tmp_path, mini_config, write_config):
    write_config(tmp_path, mini_config)
    profile = yaml.safe_load((PROFILES / "slurm" / "config.yaml").read_text())
    resources = {**profile["default-resources"], "slurm_partition": "no_such_partition"}
    run = _submit(tmp_path, [_test_profile(tmp_path / "profile", **{"default-resources": resources})],
                  "resources/textures/splits.json", limit_s=FAILURE_LIMIT_S)
    assert run.returncode not in (0, 124, 137), run.output[-3000:]
    assert "sbatch failed" in run.output and "no_such_partition" in run.output
    assert not run.jobs


@pytest.mark.timeout(SETUP_AND_RUN_S)
def test_training_asks_slurm_for_a_gpu(slurm_cluster, mini_run, tmp_path):
    shutil.copy(mini_run / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(mini_run / "resources", tmp_path / "resources")  # the data is ready: training comes first
    run = _submit(tmp_path, [_test_profile(tmp_path / "profile", cpu_only=False)],
                  "results/mini/checkpoints/epoch_000.pt", limit_s=FAILURE_LIMIT_S)
    assert run.returncode not in (0, 124, 137), run.output[-3000:]
    assert re.search(r"Error in rule start_model:\s+message: SLURM sbatch failed", run.output), run.output[-3000:]
    assert "--gpus=1" in run.output and "Invalid generic resource" in run.output  # this cluster has no GPU
    assert not run.jobs


def test_failing_job_fails_the_run_with_its_log(slurm_cluster, tmp_path, mini_config, write_config):
    missing = tmp_path / "no_such_images"
    config = mini_config
    config["datasets"]["broken"] = {"kind": "imagefolder", "source": str(missing)}
    write_config(tmp_path, config)
    one_attempt = _test_profile(tmp_path / "profile", retries=0)  # the profile's retry would fail the same way
    run = _submit(tmp_path, [one_attempt], "resources/broken/splits.json", limit_s=FAILURE_LIMIT_S)
    assert run.returncode not in (0, 124, 137), run.output[-3000:]
    assert "Error in rule prepare_data" in run.output
    assert re.search(r"SLURM-job '\d+' failed, SLURM status is: 'FAILED'", run.output), run.output[-3000:]
    assert str(missing) in run.output  # the job's own log, shown by show-failed-logs
    assert run.jobs and all("prepare-data" in job[-1] for job in run.jobs)


def test_cluster_generic_profile_runs_jobs_through_sbatch(slurm_cluster, tmp_path, mini_config, write_config):
    write_config(tmp_path, mini_config)
    profiles = [_test_profile(tmp_path / "profile"), PROFILES / "cluster-generic"]
    run = _submit(tmp_path, profiles, "results/mini/probe.npz")
    assert run.returncode == 0, run.output[-6000:]
    submitted = re.findall(r"Submitted job \d+ with external jobid '(\d+)'", run.output)
    assert len(submitted) == 2  # prepare_data, then probe_images
    assert {job[0] for job in run.jobs} == set(submitted)
    images, labels = read_probe(tmp_path / "results" / "mini" / "probe.npz")
    assert images.shape == (len(labels), 3, 32, 32) and len(labels) > 0


def test_cluster_generic_dry_run_lists_the_jobs(tmp_path, mini_config, write_config):
    write_config(tmp_path, mini_config)
    profiles = [_test_profile(tmp_path / "profile"), PROFILES / "cluster-generic"]
    run = _submit(tmp_path, profiles, "--dry-run", limit_s=FAILURE_LIMIT_S)
    assert run.returncode == 0, run.output[-3000:]
    assert re.search(r"^train_epoch +2$", run.output, re.MULTILINE)
    assert not run.jobs


@pytest.fixture(scope="module")
def status_script():
    """The cluster-generic profile's status.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("status", PROFILES / "cluster-generic" / "status.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("state, status", [("COMPLETED", "success"), ("RUNNING", "running"), ("PENDING", "running"),
                                           ("COMPLETING", "running"), ("TIMEOUT", "failed"),
                                           ("OUT_OF_MEMORY", "failed"), ("CANCELLED", "failed"), (None, "failed")])
def test_status_script_maps_slurm_states(status_script, state, status):
    assert status_script.snakemake_status(state) == status


def test_status_script_reports_an_unknown_job_as_failed(slurm_cluster):
    script = PROFILES / "cluster-generic" / "status.py"
    done = subprocess.run(["timeout", "60", sys.executable, str(script), "999999999"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "failed"
    assert "999999999" in done.stderr
