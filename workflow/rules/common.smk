# Helpers shared by the rules: experiment look-ups, epoch lists, command-line arguments.
import json
import shlex


wildcard_constraints:
    exp=r"[A-Za-z0-9_\-]+",
    dataset=r"[A-Za-z0-9_\-]+",
    # a layer folder is any name but those of the experiment-level folders
    layer=r"(?!(attribution|checkpoints|metrics|representation)/)[^/]+",
    epoch=r"\d{3}",


def experiment(name):
    """The validated config of one experiment; unknown names fail with the list of known ones."""
    if name not in config["experiments"]:
        raise ValueError(f"unknown experiment {name!r}; config.yaml has: {', '.join(config['experiments'])}")
    return config["experiments"][name]


def check_config():
    """Cross-key checks that a JSON schema cannot express; each error names the key."""
    for name in config["targets"]:
        experiment(name)
    for name, exp in config["experiments"].items():
        if exp["dataset"] not in config["datasets"]:
            raise ValueError(f"experiments.{name}.dataset: {exp['dataset']!r} is not a key of datasets "
                             f"({', '.join(config['datasets'])})")
        listed = exp["visualize"]["epochs"]
        if isinstance(listed, list) and max(listed, default=0) > last_epoch(name):
            raise ValueError(f"experiments.{name}.visualize.epochs: {max(listed)} is after the last epoch "
                             f"({last_epoch(name)})")
    for name, data in config["datasets"].items():
        if data["kind"] == "imagefolder" and not data["source"]:
            raise ValueError(f"datasets.{name}.source: an imagefolder data set needs a source folder")


def last_epoch(name):
    return sum(stage["epochs"] for stage in experiment(name)["stages"])


def tag(epoch):
    return f"{int(epoch):03d}"


def visual_epochs(name):
    """Epochs whose checkpoints are visualised: all, every k-th or a list; always the first and last."""
    last, chosen = last_epoch(name), experiment(name)["visualize"]["epochs"]
    if chosen == "all":
        epochs = range(last + 1)
    elif isinstance(chosen, dict):
        epochs = range(0, last + 1, chosen["every"])
    else:
        epochs = chosen
    return sorted({0, last, *epochs})


def noise_epochs(name):
    return sorted(set(experiment(name)["compare"].get("noise_epochs") or [0, last_epoch(name)]))


def splits_file(name):
    return f"resources/{experiment(name)['dataset']}/splits.json"


def checkpoint(name, epoch):
    return f"results/{name}/checkpoints/epoch_{tag(epoch)}.pt"


def train_config(name):
    """The part of an experiment that training depends on (so other settings never retrain)."""
    exp = experiment(name)
    keys = ["model", "weights", "image_size", "batch_size", "augment", "seed", "num_workers", "stages"]
    return {"splits": splits_file(name), **{key: exp[key] for key in keys}}


def option(flag, value):
    """``--flag 'value'`` for the shell, or nothing when value is empty."""
    return f"{flag} {shlex.quote(str(value))}" if value not in (None, "") else ""


def quoted_json(value):
    return shlex.quote(json.dumps(value, sort_keys=True))


def layer_files(name, pattern, epochs, ext="npz"):
    return [f"results/{name}/{layer}/{pattern}_{tag(e)}.{ext}"
            for layer in experiment(name)["visualize"]["layers"] for e in epochs]


def render_params(name, seed_offset=0):
    vis = experiment(name)["visualize"]
    return (f"--method {vis['method']} --steps {vis['steps']} --size {vis['size']}"
            f" --seed {vis['seed'] + seed_offset}")


def spectrum_files(name):
    """``[resources/{dataset}/spectrum.npz]`` when the experiment renders with maco, else ``[]``."""
    exp = experiment(name)
    return [f"resources/{exp['dataset']}/spectrum.npz"] if exp["visualize"]["method"] == "maco" else []


def channel_spec(name):
    channels = experiment(name)["visualize"]["channels"]
    return f"top_k:{channels['top_k']}" if isinstance(channels, dict) else ",".join(map(str, channels))


def metrics_files(name):
    return [f"results/{name}/metrics/epoch_{tag(e)}.json" for e in range(last_epoch(name) + 1)]


def attribution_figures(name):
    """The attribution pictures of an experiment, or none when attribution is switched off."""
    if not experiment(name)["attribution"]["enabled"]:
        return []
    return [f"results/{name}/attribution/{fig}.png" for fig in ("merged", "drift")]


def rendered_files(name):
    """Every render of an experiment (.npz and .png). Requested by `rule all` because Snakemake does not
    remake a deleted intermediate file whose consumers are up to date: deleting one redoes exactly it."""
    renders = [("epoch", visual_epochs(name)), ("noise", noise_epochs(name))]
    return [path for ext in ("npz", "png") for kind, epochs in renders for path in layer_files(name, kind, epochs, ext)]


def attribution_drift_table(name):
    """``[attribution/drift.csv]`` of an experiment, or ``[]`` when attribution is switched off."""
    return [f"results/{name}/attribution/drift.csv"] if experiment(name)["attribution"]["enabled"] else []


def experiment_outputs(name):
    """Everything `rule all` builds for one experiment."""
    layers = experiment(name)["visualize"]["layers"]
    return [f"results/{name}/{layer}/merged.png" for layer in layers] + [
        f"results/{name}/{fig}" for fig in ("before_after.png", "change.png", "training.png", "report.html")
    ] + attribution_figures(name) + rendered_files(name) + accentuation_figures(name)


check_config()
