"""What an experiment will cost before it runs: rates measured here on its model and sizes, times the jobs it plans.

Used by ``bench_pipeline.py --estimate EXPERIMENT``. The jobs come from Snakemake's own dry run of the
experiment (so every rule, epoch and layer is counted as the workflow will run it). The rates are measured on
this machine, with one torch thread (what each job gets), on the experiment's model with random weights (speed
does not depend on the weights, and nothing is downloaded):

- a render job's optimisation step: every layer, channel and seed of one checkpoint in its batches, at the
  experiment's size (3 steps timed after one);
- a training image (forward and backward at the training size) and an evaluation image (forward);
- a job's start-up: a fresh interpreter importing torch and driftlens's models.

Projected wall time on ``cores`` cores: the training chain runs one epoch after another; renders whose channels
come from the change screen wait for training to end; other jobs fill the remaining cores. With warm-started
renders (``visualize.warm_start``), the first rendered epoch takes the full steps and every later one the warm
steps, but the render jobs run one after another, each once its checkpoint exists and the previous render is
done: that render chain bounds the wall time too.
Rates measured on a GPU can be given as a YAML file (``gpu_rates.yaml``: the same keys, with the date and device).
"""

import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

FLOWERS17_SPLIT = {"train": 680, "val": 340, "test": 340}
"""Flowers17's official split sizes, for an estimate before the data set is downloaded."""

OTHER_JOB_S = 2.0
"""Seconds of work (beyond start-up) of a job that only reads and writes small files (plots, tables, grids)."""


def planned_jobs(exp: str, overlay: str | None = None) -> tuple[dict[str, int], list[int]]:
    """Rule name -> number of jobs, and the epochs of the render jobs, from ``snakemake --dry-run`` of the
    experiment as if nothing existed (``overlay``: a config file on top of config.yaml)."""
    files = ["--configfile", "config.yaml", overlay] if overlay else []
    command = [sys.executable, "-m", "snakemake", "-n", "--forceall", *files, "--config", f"targets=[{exp}]"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    renders = [int(epoch) for epoch in re.findall(rf"rule render_{exp}:.*?wildcards: exp={exp}, epoch=(\d+)", output,
                                                  re.DOTALL)]
    counts, table = {}, False
    for line in output.splitlines():
        if line.startswith("job "):
            table = True
        elif table and line.strip() and not line.startswith("-"):
            name, count = line.split()[:2]
            if name == "total":
                break
            counts[name] = int(count)
    return counts, renders


def reused_renders(experiment: dict, render_epochs) -> set[int]:
    """Epochs whose render jobs reuse every render: those of a first, head-only stage (epoch 0 rendered them)."""
    first = experiment["stages"][0]
    head_only = first.get("train_from") == "logits"
    return {epoch for epoch in render_epochs if head_only and 0 < epoch <= first["epochs"]}


def experiment_config(exp: str, overlay: str | None = None) -> tuple[dict, dict]:
    """The experiment's validated config (with the schema's defaults, and ``overlay`` on top) and its data set's."""
    from snakemake.utils import update_config, validate

    config = yaml.safe_load(Path("config.yaml").read_text())
    if overlay:
        update_config(config, yaml.safe_load(Path(overlay).read_text()))
    validate(config, "workflow/schemas/config.schema.yaml", set_default=True)
    experiment = config["experiments"][exp]
    return experiment, config["datasets"][experiment["dataset"]]


def split_sizes(experiment: dict, dataset: dict) -> dict[str, int]:
    """Images per split: from the prepared ``splits.json``; else Flowers17's official sizes, or the embedded
    textures prepared in a temporary folder (offline, seconds)."""
    splits = Path("resources") / experiment["dataset"] / "splits.json"
    if splits.is_file():
        return _counts(splits)
    if dataset["kind"] == "flowers17":
        return dict(FLOWERS17_SPLIT)
    if dataset["kind"] == "textures":
        import tempfile

        from driftlens.data import prepare

        with tempfile.TemporaryDirectory() as folder:
            return _counts(prepare("textures", folder, split_seed=dataset["split_seed"]))
    sys.exit(f"prepare {experiment['dataset']} first (snakemake resources/{experiment['dataset']}/splits.json)")


def _counts(splits) -> dict[str, int]:
    record = json.loads(Path(splits).read_text())
    return {split: len(record[split]) for split in ("train", "val", "test")}


def measure_rates(experiment: dict, device: str = "cpu") -> dict[str, float]:
    """Seconds per render step (one job's whole batch), per training image, per evaluation image; start-up.

    On the CPU with one torch thread (a job's share); on a GPU in the precision ``auto`` gives there.
    """
    from driftlens import models
    from driftlens.cli import keep_freed_memory
    from driftlens.optvis import visualize_units
    from driftlens.precision import autocast
    from driftlens.train import place

    torch.set_num_threads(1)
    keep_freed_memory()  # as in a job's process (driftlens.cli.main)
    vis = experiment["visualize"]
    model = models.load(experiment["model"], weights="random", num_classes=17).to(device)
    chosen = vis["channels"]
    count = len(chosen) if isinstance(chosen, list) else chosen.get("top_k", 0) + chosen.get("most_changed", 0) + \
        chosen.get("least_changed", 0)
    layers = vis["layers"].values() if isinstance(vis["layers"], dict) else vis["layers"]
    units = {layer: list(range(count)) for layer in layers}
    seeds = list(range(vis["seeds"]))
    options = {"method": vis["method"], "size": vis["size"], "max_batch": vis["max_batch"], "progress": False,
               "precision": "auto"}

    def render(steps):
        start = time.perf_counter()
        visualize_units(model, units, seeds, steps=steps, **options)
        _synchronise(device)
        return time.perf_counter() - start

    render(1)
    step = (render(4) - render(1)) / 3
    size, batch = experiment["image_size"], experiment["batch_size"]
    place(model, device)  # the training jobs' layout
    images = torch.rand(batch, 3, size, size, device=device).contiguous(memory_format=torch.channels_last)
    labels = torch.zeros(batch, dtype=torch.long, device=device)
    model.train()

    def train_step():
        with autocast("auto", model.device):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()

    train = _per_epoch_image(model, experiment.get("stages", []), lambda: _per_image(train_step, batch, device))
    model.eval()
    with torch.no_grad(), autocast("auto", model.device):
        evaluate = _per_image(lambda: model(images), batch, device)
    return {"render_step_s": step, "train_image_s": train, "eval_image_s": evaluate, "startup_s": _startup()}


def _per_epoch_image(model, stages, seconds_per_image) -> float:
    """Seconds per training image, averaged over the schedule's epochs: each stage measured with its own frozen
    prefix (which builds no autograd graph); 0 without stages (checkpoints trained elsewhere)."""
    from driftlens.train import Stage, apply_stage

    per_stage = []
    for stage in stages:
        apply_stage(model, Stage(**stage))
        per_stage.append((stage["epochs"], seconds_per_image()))
    epochs = sum(count for count, _ in per_stage)
    return sum(count * rate for count, rate in per_stage) / epochs if epochs else 0.0


def _synchronise(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _per_image(work, batch, device, repeats=3) -> float:
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        _synchronise(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / batch


JOB_IMPORTS = "import gc, torch, driftlens.models; gc.freeze()"
"""What every torch job imports, frozen as a job's process freezes it (driftlens.cli.main)."""


def _startup() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", JOB_IMPORTS], check=True)
    return time.perf_counter() - start


def job_seconds(experiment: dict, sizes: dict, rates: dict) -> dict[str, float]:
    """Projected seconds of one job of each kind (start-up included)."""
    start, probe = rates["startup_s"], min(experiment["probe_images"], sizes["val"])
    epoch = sizes["train"] * rates["train_image_s"] + (sizes["val"] + sizes["test"]) * rates["eval_image_s"]
    return {"train": start + epoch, "start": start + (sizes["val"] + sizes["test"]) * rates["eval_image_s"],
            "render": start + experiment["visualize"]["steps"] * rates["render_step_s"],
            "representation": start + probe * rates["eval_image_s"] * 2,
            "other": start + OTHER_JOB_S}


RULE_KIND = {"train_epoch": "train", "start_model": "start", "representation": "representation"}
"""Which projected job each rule is (``render_{exp}`` is a render; every other rule is ``other``)."""


def render_seconds(experiment: dict, render_epochs, per_job: dict, rates: dict, warm_steps: int) -> dict[int, float]:
    """Projected seconds of each render job by epoch: a reused one costs a start-up and reading its inputs; the
    first rendered epoch, and every epoch without warm starts (``warm_steps`` 0), the full steps; the rest the
    warm steps."""
    reused, first = reused_renders(experiment, render_epochs), min(render_epochs)
    warm = rates["startup_s"] + warm_steps * rates["render_step_s"]
    return {epoch: per_job["other"] if epoch in reused else per_job["render"] if epoch == first or not warm_steps
            else warm for epoch in render_epochs}


def render_chain_end(seconds_by_epoch: dict, ready) -> float:
    """When the last of a chain of render jobs ends: each starts once ``ready(epoch)`` and the previous one ended."""
    end = 0.0
    for epoch in sorted(seconds_by_epoch):
        end = max(end, ready(epoch)) + seconds_by_epoch[epoch]
    return end


def estimate(exp: str, cores: int, rates: dict | None = None, overlay: str | None = None,
             warm_steps: int | None = None) -> dict:
    """The projected seconds per rule, the training chain and the whole run's wall time on ``cores`` cores;
    ``warm_steps`` (default: the experiment's ``visualize.warm_start``; 0 for cold renders) for warm starts."""
    experiment, dataset = experiment_config(exp, overlay)
    jobs, render_epochs = planned_jobs(exp, overlay)
    rates = rates or measure_rates(experiment)
    if warm_steps is None:
        warm_steps = experiment["visualize"]["warm_start"] or 0
    per_job = job_seconds(experiment, split_sizes(experiment, dataset), rates)
    per_rule = {rule: count * per_job[RULE_KIND.get(rule, "other")] for rule, count in jobs.items()
                if rule != "all" and not rule.startswith("render_")}
    by_epoch = render_seconds(experiment, render_epochs, per_job, rates, warm_steps)
    per_rule[f"render_{exp}"] = sum(by_epoch.values())
    chain = per_rule.get("train_epoch", 0) + per_rule.get("start_model", 0)
    renders = per_rule[f"render_{exp}"]
    rest = sum(per_rule.values()) - chain - renders
    channels = experiment["visualize"]["channels"]
    after_training = renders if isinstance(channels, dict) and "most_changed" in channels else 0
    beside = sum(per_rule.values()) - chain - after_training
    wall = max(chain + after_training / cores + max(0, beside - chain * (cores - 1)) / cores,
               sum(per_rule.values()) / cores)
    render_chain = 0.0
    if warm_steps:
        def ready(epoch):
            return chain if after_training else per_job["start"] + epoch * per_job["train"]
        render_chain = render_chain_end(by_epoch, ready)
        wall = max(wall, render_chain + per_job["other"])  # then the figure that gathers the renders
    return {"rates": rates, "jobs": jobs, "per_rule": per_rule, "chain": chain, "renders": renders, "rest": rest,
            "wall": wall, "reused": len(reused_renders(experiment, render_epochs)), "warm_steps": warm_steps,
            "render_chain": render_chain}


def print_estimate(exp: str, cores: int, gpu_rates: str | None = None, overlay: str | None = None,
                   warm_steps: int | None = None) -> None:
    """Print the estimate on this machine's rates and, when a GPU's rates are given, on those: with cold renders
    and, when the experiment warm-starts or ``warm_steps`` is given, with warm starts too (the same rates)."""
    here = measure_rates(experiment_config(exp, overlay)[0])
    warm = warm_steps or experiment_config(exp, overlay)[0]["visualize"]["warm_start"]
    sources = [(here, "this machine (1 torch thread per job)")]
    if gpu_rates:
        record = yaml.safe_load(Path(gpu_rates).read_text())
        sources.append(({key: record[key] for key in here}, f"{record['device']}, measured {record['date']}"))
    for rates, where in sources:
        for steps in ([0, warm] if warm else [0]):
            _print(exp, cores, estimate(exp, cores, rates, overlay, steps), where)


def _print(exp, cores, result, where):
    rates = result["rates"]
    renders = f"warm-started renders ({result['warm_steps']} steps after the first epoch)" if result["warm_steps"] \
        else "cold renders"
    print(f"{exp}, {renders}, on {where}: render step {rates['render_step_s']:.3f} s (whole job batch), training image "
          f"{rates['train_image_s'] * 1000:.1f} ms, evaluation image {rates['eval_image_s'] * 1000:.1f} ms, "
          f"start-up {rates['startup_s']:.1f} s")
    for rule, seconds in sorted(result["per_rule"].items(), key=lambda item: -item[1]):
        print(f"  {rule:<22} {result['jobs'][rule]:>4} jobs  {_duration(seconds):>12}")
    print(f"  projected wall time on {cores} cores: {_duration(result['wall'])} (training chain "
          f"{_duration(result['chain'])}, renders {_duration(result['renders'])} of job time, "
          f"{result['reused']} render jobs reused"
          + (f"; the render chain ends at {_duration(result['render_chain'])}" if result["warm_steps"] else "") + ")")


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(round(seconds)), 3600)
    return (f"{hours} h " if hours else "") + f"{rest // 60} min {rest % 60:02d} s"


def main(argv=None):
    """``estimate.py --measure EXP --device cuda -o rates.yaml``: measure and store a machine's rates as data."""
    import argparse
    import datetime

    parser = argparse.ArgumentParser(description="measure an experiment's rates on this machine and store them")
    parser.add_argument("--measure", required=True, metavar="EXP", help="experiment of config.yaml")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("-o", "--output", required=True, help="the YAML to write (e.g. benchmarks/gpu_rates.yaml)")
    args = parser.parse_args(argv)
    rates = measure_rates(experiment_config(args.measure)[0], args.device)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {torch.get_num_threads()} thread"
    record = {"experiment": args.measure, "device": name, "date": datetime.date.today().isoformat(), **rates}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(yaml.safe_dump(record, sort_keys=False))
    print(yaml.safe_dump(record, sort_keys=False), end="")


if __name__ == "__main__":
    main()
