#!/usr/bin/env python3
"""Snakemake's cluster-generic status command for SLURM: ``status.py JOBID`` prints running, success or failed.

squeue answers while slurmctld still remembers the job (MinJobAge after it ends), sacct afterwards where
accounting runs. A job that neither knows, after a few tries, is reported failed (with the reason on stderr),
so Snakemake stops instead of waiting forever.
"""

import subprocess
import sys
import time

SUCCESS = {"COMPLETED"}
FAILED = {"BOOT_FAIL", "CANCELLED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
          "REVOKED", "SPECIAL_EXIT", "TIMEOUT"}
QUERIES = (["squeue", "--noheader", "--states=all", "--format=%T", "--jobs"],
           ["sacct", "--noheader", "--parsable2", "--allocations", "--format=State", "--jobs"])
TRIES = 3
PAUSE_S = 5


def query_state(command, job_id):
    """The job's state from one SLURM command, or None when the command fails or does not know the job.

    Args:
        command (list of str): The query without the job id, one of ``QUERIES``.
        job_id (str): The SLURM job id.

    Returns:
        str or None: The state's first word in capitals (sacct writes ``CANCELLED by 0``).

    >>> query_state(QUERIES[0], "123")  # doctest: +SKIP
    'RUNNING'
    """
    try:
        done = subprocess.run([*command, job_id], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.split()
    return words[0].upper() if done.returncode == 0 and words else None


def job_state(job_id, tries=TRIES, pause_s=PAUSE_S):
    """The job's state from squeue, else sacct, asking up to ``tries`` times; None when nobody knows it.

    Args:
        job_id (str): The SLURM job id.
        tries (int, optional): Rounds of queries before giving up. Default: 3
        pause_s (float, optional): Seconds between rounds. Default: 5

    Returns:
        str or None: A SLURM job state such as ``RUNNING`` or ``COMPLETED``.

    >>> job_state("123")  # doctest: +SKIP
    'COMPLETED'
    """
    for attempt in range(tries):
        for command in QUERIES:
            state = query_state(command, job_id)
            if state:
                return state
        if attempt + 1 < tries:
            time.sleep(pause_s)
    return None


def snakemake_status(state):
    """Snakemake's word for a SLURM state: success, failed or running (pending, completing, ...).

    Args:
        state (str or None): A SLURM job state; None for a job SLURM does not know.

    Returns:
        str: ``success``, ``failed`` or ``running``.

    >>> snakemake_status("OUT_OF_MEMORY")
    'failed'
    """
    if state in SUCCESS:
        return "success"
    if state is None or state in FAILED:
        return "failed"
    return "running"


def main(argv=None):
    """Print the status of the one job id given (``id`` or ``id;cluster``, as ``sbatch --parsable`` writes it).

    Args:
        argv (list of str, optional): The arguments. Default: None (``sys.argv[1:]``)

    >>> main(["123;cluster"])  # doctest: +SKIP
    success
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: status.py JOBID")
    job_id = args[0].split(";")[0]
    state = job_state(job_id)
    if state is None:
        print(f"status.py: SLURM job {job_id} is unknown to squeue and sacct", file=sys.stderr)
    print(snakemake_status(state))


if __name__ == "__main__":
    main()
