# Helpers shared by the rules: experiment look-ups, epoch lists, command-line arguments.
import json
import re
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
    """``epoch_NNN``'s number: 3 digits, or a wildcard such as ``"{epoch}"`` left as it is."""
    return epoch if str(epoch).startswith("{") else f"{int(epoch):03d}"


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


def splits_file(name):
    return f"resources/{experiment(name)['dataset']}/splits.json"


# Paths of the artifacts that several rules share: each pattern is spelled here once.
def checkpoint(name, epoch):
    return f"results/{name}/checkpoints/epoch_{tag(epoch)}.pt"


def render_row(name, layer, epoch, ext="npz"):
    """One layer's renders (all seeds) at one checkpoint: ``.npz`` with its metadata, ``.png`` of the first seed."""
    return f"results/{name}/{layer}/epoch_{tag(epoch)}.{ext}"


def channels_file(name, layer):
    return f"results/{name}/{layer}/channels.txt"


def responses_file(name, epoch):
    return f"results/{name}/representation/responses_{tag(epoch)}.npz"


def representation_file(name, epoch):
    return f"results/{name}/representation/epoch_{tag(epoch)}.json"


def change_table(name, layer):
    return f"results/{name}/{layer}/change.csv"


def probe_file(name):
    return f"results/{name}/probe.npz"


def layers(name):
    return experiment(name)["visualize"]["layers"]


def seeds(name):
    """The image seeds of every render: ``seed, seed + 1, ...`` (``visualize.seeds`` of them)."""
    vis = experiment(name)["visualize"]
    return [vis["seed"] + k for k in range(vis["seeds"])]


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


def render_params(name):
    vis = experiment(name)["visualize"]
    return (f"--method {vis['method']} --steps {vis['steps']} --size {vis['size']} --seed {vis['seed']}"
            f" --seeds {','.join(map(str, seeds(name)))} {option('--max-batch', vis['max_batch'])}")


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
    remake a deleted intermediate file whose consumers are up to date: deleting one redoes its checkpoint's job."""
    return [render_row(name, layer, e, ext) for ext in ("npz", "png") for layer in layers(name)
            for e in visual_epochs(name)]


def attribution_drift_table(name):
    """``[attribution/drift.csv]`` of an experiment, or ``[]`` when attribution is switched off."""
    return [f"results/{name}/attribution/drift.csv"] if experiment(name)["attribution"]["enabled"] else []


def experiment_outputs(name):
    """Everything `rule all` builds for one experiment."""
    return [f"results/{name}/{layer}/{figure}.png" for layer in layers(name) for figure in ("merged", "exemplars")] + [
        f"results/{name}/{fig}" for fig in ("before_after.png", "change.png", "training.png", "report.html")
    ] + attribution_figures(name) + rendered_files(name)


check_config()
