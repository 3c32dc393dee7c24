"""Benchmark: where an experiment's pipeline spends its time, per rule, from Snakemake's per-job benchmark files.

Runs the experiment from scratch in this folder (``--run``: its results, logs and, with ``--with-data``, its
prepared data set are removed first), or reads the benchmark files of an earlier run, and prints per step
(the rule, as the path of its benchmark file with epochs and layers folded): jobs, wall seconds (Snakemake's),
CPU seconds (each ``driftlens`` command writes its own at the end of its log), the total, the run's wall time, the
screening work (the screen jobs, and the probe passes of checkpoints that are not rendered, which exist only for
the screen) against the run's wall time, and the share of the jobs' time spent outside the model: each job that
runs torch pays the interpreter's start-up and imports (measured here: ``import torch`` and driftlens's model
code in a fresh interpreter), before any checkpoint is read.

Usage:
    .venv/bin/python benchmarks/bench_pipeline.py --run                       # the demo
    .venv/bin/python benchmarks/bench_pipeline.py --run --exp flowers17_lite0 --cores 2
    .venv/bin/python benchmarks/bench_pipeline.py --run --configfile small.yaml # with a config overlay
    .venv/bin/python benchmarks/bench_pipeline.py --run --features-off --repeats 3  # what the feature diff adds
    .venv/bin/python benchmarks/bench_pipeline.py --exp demo                  # read an earlier run's files
    .venv/bin/python benchmarks/bench_pipeline.py --estimate flowers17        # what a run will cost (estimate.py)
    .venv/bin/python benchmarks/bench_pipeline.py --estimate flowers17 --warm-steps 128   # cold and warm renders
    .venv/bin/python benchmarks/bench_pipeline.py --startup                   # a job's start-up, --help's time
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

TORCH_STEPS = ("train", "render", "representation", "{layer}/change", "{layer}/channels", "probe", "attribution/epoch",
               "features/", "{layer}/features")
"""Steps whose command imports torch (see the rules' `threads:`)."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exp", default="demo", help="experiment of config.yaml (default: demo)")
    parser.add_argument("--run", action="store_true", help="run it from scratch first (deletes its results and logs)")
    parser.add_argument("--with-data", action="store_true", help="with --run: prepare the data set again too")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (default: 2)")
    parser.add_argument("--configfile", help="with --run or --estimate: a config overlay (e.g. other render sizes)")
    parser.add_argument("--estimate", metavar="EXP", help="project an experiment's time per rule and in total on "
                                                         "--cores cores from rates measured here (estimate.py)")
    parser.add_argument("--gpu-rates", metavar="YAML", help="with --estimate: rates measured on a GPU, to project too")
    parser.add_argument("--warm-steps", type=int, help="with --estimate: project warm-started renders with these steps "
                                                       "too (default: the experiment's visualize.warm_start, if any)")
    parser.add_argument("--features-off", action="store_true",
                        help="with --run: the same run without the feature diff (features.enabled false), to measure "
                             "the wall time the feature jobs add, back to back")
    parser.add_argument("--repeats", type=int, default=1,
                        help="with --run --features-off: this many pairs, alternating, and their median (default: 1)")
    parser.add_argument("--startup", action="store_true", help="time `driftlens --help` and a Lite0 render job's "
                                                               "start-up (process start to its first step)")
    return parser.parse_args(argv)


def run_experiment(exp, cores, with_data, config, configfile=None) -> float:
    """Remove the experiment's outputs, run it, and return the wall seconds of the whole ``snakemake`` call."""
    for folder in (Path("results") / exp, Path("logs") / exp, Path("logs/benchmarks") / exp):
        shutil.rmtree(folder, ignore_errors=True)
    if with_data:
        dataset = config["experiments"][exp]["dataset"]
        shutil.rmtree(Path("resources") / dataset, ignore_errors=True)
        shutil.rmtree(Path("logs/benchmarks/data"), ignore_errors=True)
    start = time.perf_counter()
    overlay = ["--configfile", "config.yaml", configfile] if configfile else []
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), *overlay, "--config", f"targets=[{exp}]"],
                   check=True)
    return time.perf_counter() - start


def step_name(path: Path, root: Path, layers) -> str:
    """``render``, ``{layer}/change``, ``attribution/epoch``, ``change``, ...: a benchmark file's step."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    parts = ["{layer}" if part in layers else part for part in parts]
    if re.fullmatch(r"epoch_\d+", parts[-1]):
        parts = parts[:-1] if len(parts) > 1 and parts[-2] != "attribution" else parts[:-1] + ["epoch"]
    return "/".join(parts)


def job_table(exp, layers) -> pd.DataFrame:
    """One row per job of the experiment (and its data set's preparation): step, wall and CPU seconds.

    The wall time is Snakemake's. The CPU time is the one the job's ``driftlens`` command wrote at the end of
    its log (the whole process, every thread); Snakemake's own ``cpu_time`` samples a job only now and then
    (every half second for 15 s, then every 30 s), so it misses most of a long job's time and is used only for
    jobs without that line.
    """
    rows = []
    for root in (Path("logs/benchmarks") / exp, Path("logs/benchmarks/data")):
        for path in sorted(root.rglob("*.tsv")):
            record = pd.read_csv(path, sep="\t").iloc[-1]
            step = "prepare_data" if root.name == "data" else step_name(path, root, layers)
            log = Path("logs") / path.relative_to("logs/benchmarks").with_suffix(".log")
            cpu = logged_cpu_seconds(log)
            epoch = re.fullmatch(r"epoch_(\d+)", path.stem)
            rows.append({"step": step, "epoch": int(epoch[1]) if epoch else None, "wall_s": record["s"],
                         "cpu_s": record["cpu_time"] if cpu is None else cpu, "cpu_from_log": cpu is not None})
    return pd.DataFrame(rows)


def logged_cpu_seconds(log: Path) -> float | None:
    """The CPU seconds in a job log's last ``driftlens: ... done in ... s (... s CPU)`` line, or None."""
    text = log.read_text(errors="replace") if log.exists() else ""
    found = re.findall(r"^driftlens: \S+ done in [\d.]+ s \(([\d.]+) s CPU\)$", text, re.MULTILINE)
    return float(found[-1]) if found else None


def screening_line(jobs, reference_s, reference) -> str:
    """The screening work: screen jobs, plus probe passes of checkpoints that no render job renders."""
    screens = jobs[jobs.step == "{layer}/screen"]
    rendered = set(jobs[jobs.step == "render"].epoch)
    passes = jobs[(jobs.step == "representation") & ~jobs.epoch.isin(rendered)]
    total = screens.wall_s.sum() + passes.wall_s.sum()
    return (f"screening: {len(screens)} screen jobs {screens.wall_s.sum():.1f} s + {len(passes)} probe passes of "
            f"checkpoints not rendered {passes.wall_s.sum():.1f} s = {total:.1f} s, {100 * total / reference_s:.1f} % "
            f"of {reference}")


def features_line(jobs, reference_s, reference) -> str:
    """The feature diff's jobs (the activations, then a crosscoder and its figure per layer), with their breakdown,
    against a reference time."""
    parts = {name: jobs[jobs.step == step] for name, step in (("activations", "features/activations"),
                                                               ("crosscoder and figure", "{layer}/features"))}
    total = sum(part.wall_s.sum() for part in parts.values())
    breakdown = " + ".join(f"{len(part)} {name} jobs {part.wall_s.sum():.1f} s" for name, part in parts.items())
    return f"feature diff: {breakdown} = {total:.1f} s, {100 * total / reference_s:.1f} % of {reference}"


def features_off_overlay(exp) -> str:
    """A config overlay (a temporary file) that switches the experiment's feature diff off."""
    import tempfile

    config = yaml.safe_load(Path("config.yaml").read_text())
    experiment = config["experiments"][exp]
    experiment["features"] = {**experiment.get("features", {}), "enabled": False}
    overlay = Path(tempfile.mkdtemp()) / "features_off.yaml"
    overlay.write_text(yaml.safe_dump({"experiments": {exp: experiment}}))
    return str(overlay)


def print_startup(repeats=9) -> None:
    """Median wall time of ``driftlens --help``, and of a Lite0 render job's start-up: a render-checkpoint of the
    demo's units at its size with 1 and with 2 steps, start-up = 2 t(1) - t(2) (the second step's time removed)."""
    import tempfile

    from driftlens import models
    from driftlens.checkpoints import Checkpoint, save_checkpoint

    driftlens = str(Path(sys.executable).with_name("driftlens"))
    print(f"driftlens --help: {median_seconds([driftlens, '--help'], repeats):.2f} s wall")
    with tempfile.TemporaryDirectory() as folder:
        net = models.load("efficientnet_lite0", weights="imagenet", num_classes=8).net
        save_checkpoint(Checkpoint(net.state_dict(), 0, {"model": "efficientnet_lite0"}, list("abcdefgh")),
                        f"{folder}/epoch_000.pt")
        Path(folder, "channels.txt").write_text("0,1,2,3\n")
        job = [driftlens, "render-checkpoint", "--checkpoint", f"{folder}/epoch_000.pt", "--units",
               *(f"{layer}={folder}/channels.txt" for layer in ("blocks.12", "blocks.14")), "--seeds", "0,1,2",
               "--size", "96", "--rows", f"{folder}/a.npz", f"{folder}/b.npz", "--pngs", f"{folder}/a.png",
               f"{folder}/b.png", "--threads", "1", "--no-progress"]
        one, two, torch_alone = median_seconds_interleaved(
            [job + ["--steps", "1"], job + ["--steps", "2"], [sys.executable, "-c", "import gc, torch; gc.freeze()"]],
            repeats)  # torch alone, frozen as a job's process freezes its imports (driftlens.cli.main)
    print(f"Lite0 render job (the demo's 24 images at 96 px): {one:.2f} s with 1 step, {two:.2f} s with 2; start-up "
          f"(process start to its first step) {2 * one - two:.2f} s, of which `import torch` alone {torch_alone:.2f} s "
          f"and driftlens's own {2 * one - two - torch_alone:.2f} s")


def median_seconds(command, repeats) -> float:
    """Median wall seconds of a command run ``repeats`` times (its output discarded)."""
    return median_seconds_interleaved([command], repeats)[0]


def median_seconds_interleaved(commands, repeats) -> list[float]:
    """Median wall seconds of each command, run in turn ``repeats`` times, so that a busy spell hits them alike."""
    times = [[] for _ in commands]
    for _ in range(repeats):
        for command, spent in zip(commands, times):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def startup_seconds(repeats=3) -> float:
    """Median wall time of a fresh interpreter importing torch and driftlens's model code, as a job does."""
    from estimate import JOB_IMPORTS

    return median_seconds([sys.executable, "-c", JOB_IMPORTS], repeats)


def features_pairs(args, config) -> float:
    """Run the experiment without and with the feature diff, ``--repeats`` times alternating, print each pair and the
    medians; return the last run's wall time (with it: the run whose benchmark files are read next)."""
    pairs = []
    for _ in range(args.repeats):
        without = run_experiment(args.exp, args.cores, args.with_data, config, features_off_overlay(args.exp))
        wall = run_experiment(args.exp, args.cores, args.with_data, config, args.configfile)
        pairs.append((without, wall))
        print(f"without the feature diff: {without:.0f} s; with it: {wall:.0f} s; it adds {wall - without:.0f} s, "
              f"{100 * (wall - without) / without:.1f} % of the run without it (--cores {args.cores})")
    without, with_it = (statistics.median(runs) for runs in zip(*pairs))
    print(f"median of {len(pairs)} pairs: without {without:.0f} s, with {with_it:.0f} s; the feature diff adds "
          f"{with_it - without:.0f} s, {100 * (with_it - without) / without:.1f} %")
    return wall


def main(argv=None):
    args = parse_args(argv)
    if args.startup:
        print_startup()
        return
    if args.estimate:
        from estimate import print_estimate

        print_estimate(args.estimate, args.cores, args.gpu_rates, args.configfile, args.warm_steps)
        return
    config = yaml.safe_load(Path("config.yaml").read_text())
    experiment = config["experiments"][args.exp]
    listed = experiment.get("screen", {}).get("layers", [])
    layers = set(experiment["visualize"]["layers"]) | set(listed if isinstance(listed, list) else [])
    if args.run and args.features_off:
        wall = features_pairs(args, config)
    else:
        wall = run_experiment(args.exp, args.cores, args.with_data, config, args.configfile) if args.run else None
    jobs = job_table(args.exp, layers)
    if jobs.empty:
        sys.exit(f"no benchmark files under logs/benchmarks/{args.exp}: run with --run first")
    per_step = jobs.groupby("step").agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"))
    per_step = per_step.sort_values("wall_s", ascending=False)
    print(per_step.to_string(float_format=lambda value: f"{value:.1f}"))
    print(f"total: {len(jobs)} jobs, {jobs.wall_s.sum():.0f} s wall and {jobs.cpu_s.sum():.0f} s CPU summed over jobs"
          + (f"; whole run {wall:.0f} s wall with --cores {args.cores}" if wall is not None else ""))
    print(f"CPU time from the jobs' own logs for {int(jobs.cpu_from_log.sum())} of {len(jobs)} jobs "
          "(the others: Snakemake's sampled cpu_time)")
    print(screening_line(jobs, wall, "the run's wall time") if wall is not None else
          screening_line(jobs, jobs.wall_s.sum(), "the jobs' wall time summed"))
    print(features_line(jobs, wall, "the run's wall time") if wall is not None else
          features_line(jobs, jobs.wall_s.sum(), "the jobs' wall time summed"))
    startup = startup_seconds()
    torch_jobs = int(jobs.step.map(lambda step: step.startswith(TORCH_STEPS)).sum())
    print(f"outside the model: {torch_jobs} torch jobs x {startup:.2f} s start-up (interpreter + import torch and "
          f"driftlens's models) = {torch_jobs * startup:.0f} s, {100 * torch_jobs * startup / jobs.wall_s.sum():.0f} % "
          "of the jobs' wall time; a lower bound: steps that also import torchvision or matplotlib pay more")


if __name__ == "__main__":
    main()
