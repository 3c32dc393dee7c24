# Helpers shared by the rules: experiment look-ups, epoch lists, command-line arguments.
import functools
import importlib.util
import json
import shlex
from pathlib import Path


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
        check_layers(name)
    for name, data in config["datasets"].items():
        if data["kind"] == "imagefolder" and not data["source"]:
            raise ValueError(f"datasets.{name}.source: an imagefolder data set needs a source folder")
        if data["skip_corrupt"] and data["kind"] != "imagefolder":
            raise ValueError(f"datasets.{name}.skip_corrupt: only imagefolder data sets take it")


@functools.lru_cache(maxsize=None)
def channel_counts(model, layers):
    """{layer: channel count} from the model's architecture alone (no weights loaded), cached; an unknown
    layer raises driftlens's UnknownLayerError, whose message is the one the command line gives."""
    from driftlens.models import architecture

    network = architecture(model)
    for layer in layers:
        network.resolve(layer)
    return {layer: shape[0] for layer, shape in network.output_shapes(list(layers)).items()}


def packaged_layer_table(model):
    """{layer or alias: channels} of a zoo model from driftlens's packaged table, read without importing torch."""
    package = Path(importlib.util.find_spec("driftlens").origin).parent
    return json.loads((package / "models" / "layer_tables.json").read_text()).get(model, {})


def layers_look_right(exp):
    """True when the packaged table confirms every layer and channel of an experiment (the fast path)."""
    table, vis = packaged_layer_table(exp["model"]), exp["visualize"]
    named = [*vis["layers"], exp["attribution"]["layer"] or vis["layers"][0],
             *(stage["train_from"] for stage in exp["stages"] if "train_from" in stage)]
    wanted = vis["channels"]["top_k"] - 1 if isinstance(vis["channels"], dict) else max(vis["channels"])
    return all(layer in table for layer in named) and all(wanted < table[layer] for layer in vis["layers"])


def check_layers(name):
    """Layer names and channels of an experiment against its model, at parse time, with the CLI's messages.
    The packaged table confirms a good config in milliseconds; anything it does not confirm is checked on
    the architecture itself (built without weights), which raises the command line's error."""
    if layers_look_right(experiment(name)):
        return
    from driftlens.errors import DriftlensError
    from driftlens.models import architecture
    from driftlens.models.wrapper import check_channel, check_top_k

    exp, key = experiment(name), f"experiments.{name}"
    vis, model = exp["visualize"], exp["model"]
    other_layers = {f"{key}.stages[{i}].train_from": stage["train_from"]
                    for i, stage in enumerate(exp["stages"]) if "train_from" in stage}
    if exp["attribution"]["layer"]:
        other_layers[f"{key}.attribution.layer"] = exp["attribution"]["layer"]
    where = f"{key}.visualize.layers"  # the key named by an error
    try:
        counts = channel_counts(model, tuple(vis["layers"]))
        for where, layer in other_layers.items():
            architecture(model).resolve(layer)
        where = f"{key}.visualize.channels"
        for layer, count in counts.items():
            if isinstance(vis["channels"], dict):
                check_top_k(layer, count, vis["channels"]["top_k"])
            else:
                for channel in vis["channels"]:
                    check_channel(model, layer, count, channel)
    except DriftlensError as err:
        raise ValueError(f"{where}: {err}") from None


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
    ] + attribution_figures(name) + rendered_files(name)


check_config()
