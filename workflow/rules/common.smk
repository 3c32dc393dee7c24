# Helpers shared by the rules: experiment look-ups, epoch lists, command-line arguments.
import functools
import itertools
import json
import re
import shlex
from pathlib import Path

from driftlens.schemas import training_keys, validate_train_config
from driftlens.schemas.channels import channel_spec_text
from driftlens.schemas.layers import layer_labels
from driftlens.schemas.workflow import (check_workflow_config, checkpoint_epochs, epoch_text, imported_series,
                                        selection_epoch as selection_epoch_of)


TRAINING_PRIORITY = 2
"""The training chain first: every other job of a checkpoint waits for it."""
CHAIN_PRIORITY = 1
"""Then the longest chain (probe passes, screen, channel selection, renders, change tables), before the side jobs
(attribution, the feature diff, plots), which fill the cores it leaves free."""


wildcard_constraints:
    exp=r"[A-Za-z0-9_\-]+",
    dataset=r"[A-Za-z0-9_\-]+",
    # a layer folder is any name but those of the experiment-level folders
    layer=r"(?!(attribution|checkpoints|features|metrics|representation)/)[^/]+",
    epoch=r"\d{3}",


def experiment(name):
    """The validated config of one experiment; unknown names fail with the list of known ones."""
    if name not in config["experiments"]:
        raise ValueError(f"unknown experiment {name!r}; config.yaml has: {', '.join(config['experiments'])}")
    return config["experiments"][name]


def check_config():
    """Cross-key checks that a JSON schema cannot express (driftlens.schemas.workflow), layers included; each error
    names the key."""
    from driftlens.errors import ConfigError

    try:
        check_workflow_config(config)
    except ConfigError as err:
        raise ValueError(str(err)) from None


def imported(name):
    """True for an experiment of checkpoints trained elsewhere (``checkpoints:``), False for one driftlens trains."""
    return "checkpoints" in experiment(name)


@functools.lru_cache(maxsize=None)
def series(name):
    """``{epoch: file or "imagenet"}`` of an imported experiment (the rule is :mod:`driftlens.checkpoints.series`)."""
    return imported_series(experiment(name))


def imported_file(name, epoch):
    """``[the file]`` of an imported experiment's epoch (an input Snakemake tracks), or ``[]`` for ``imagenet``."""
    from driftlens.checkpoints.series import PRETRAINED

    source = series(name).get(int(epoch))
    if source is None:
        raise ValueError(f"experiment {name} has no checkpoint of epoch {int(epoch)} (the epochs are "
                         f"{epoch_range_text(name)})")
    return [] if source == PRETRAINED else [source]


def experiments_pattern(imported_ones):
    """A wildcard pattern matching exactly the imported experiments' names, or exactly the trained ones'."""
    names = [name for name in config["experiments"] if imported(name) == imported_ones]
    return "|".join(map(re.escape, names)) or "(?!)"


def last_epoch(name):
    """The last epoch: the end of the last stage, or an imported experiment's last checkpoint."""
    return all_epochs(name)[-1]


def all_epochs(name):
    """Every epoch that has a checkpoint: 0, 1, ... the last for a trained experiment; the series' for an imported one."""
    return list(series(name)) if imported(name) else checkpoint_epochs(experiment(name))


def epoch_range_text(name):
    return epoch_text(all_epochs(name))


def tag(epoch):
    """``epoch_NNN``'s number: 3 digits, or a wildcard such as ``"{epoch}"`` left as it is."""
    return epoch if str(epoch).startswith("{") else f"{int(epoch):03d}"


def visual_epochs(name):
    """Epochs whose checkpoints are visualised: all, every k-th checkpoint or a list; always the first and last."""
    available, chosen = all_epochs(name), experiment(name)["visualize"]["epochs"]
    if chosen == "all":
        epochs = available
    elif isinstance(chosen, dict):
        epochs = available[::chosen["every"]]
    else:
        epochs = chosen
    return sorted({0, available[-1], *epochs})


# How every rule's command ends: its output and errors go to the rule's log, and when it fails the last lines of
# the log (driftlens's one-line reason) go to the terminal too, whichever profile the run uses (or none).
LOGGED = " > {log} 2>&1 || {{ tail -n 5 {log} >&2; exit 1; }}"


# Every artifact's path pattern, spelled here once; rules and helpers build paths with `artifact`.
PATHS = {
    "splits": "resources/{dataset}/splits.json",
    "spectrum": "resources/{dataset}/spectrum.npz",  # MACO's natural-image magnitude spectrum
    "config": "results/{exp}/config.json",
    "checkpoint": "results/{exp}/checkpoints/epoch_{epoch}.pt",
    "metrics": "results/{exp}/metrics/epoch_{epoch}.json",
    "probe": "results/{exp}/probe.npz",
    "channels": "results/{exp}/{layer}/channels.txt",
    "render": "results/{exp}/{layer}/epoch_{epoch}.npz",  # every seed, metadata inside
    "render_png": "results/{exp}/{layer}/epoch_{epoch}.png",  # first seed
    "render_store": "results/{exp}/render_store",  # renders by the hash of what determines them (not a rule output)
    "representation": "results/{exp}/representation/epoch_{epoch}.json",
    "probe_responses": "results/{exp}/representation/probe_{epoch}.npz",  # every channel, Gram matrices
    "screen": "results/{exp}/{layer}/screen.csv",
    "feature_activations": "results/{exp}/features/activations.npz",  # every visualised layer and feature epoch
    "features": "results/{exp}/{layer}/features.csv",
    "features_summary": "results/{exp}/{layer}/features.json",
    "crosscoder": "results/{exp}/{layer}/crosscoder.npz",
    "features_png": "results/{exp}/{layer}/features.png",
    "volcano": "results/{exp}/{layer}/volcano.png",
    "depth": "results/{exp}/depth.png",
    "change": "results/{exp}/{layer}/change.csv",
    "merged": "results/{exp}/{layer}/merged.png",
    "exemplars": "results/{exp}/{layer}/exemplars.png",
    "accentuation": "results/{exp}/{layer}/accentuation.png",
    "before_after": "results/{exp}/before_after.png",
    "change_plot": "results/{exp}/change.png",
    "training_plot": "results/{exp}/training.png",
    "report": "results/{exp}/report.html",
    "attribution_maps": "results/{exp}/attribution/epoch_{epoch}.npz",
    "attribution_png": "results/{exp}/attribution/epoch_{epoch}.png",
    "attribution_grid": "results/{exp}/attribution/merged.png",
    "attribution_drift": "results/{exp}/attribution/drift.csv",
    "attribution_drift_png": "results/{exp}/attribution/drift.png",
}


def artifact(kind, exp="{exp}", epoch="{epoch}", layer="{layer}", dataset="{dataset}"):
    """The path of one artifact; arguments left out stay wildcards, e.g. ``artifact("checkpoint")`` for an output.

    ``epoch`` is written with three digits (``epoch_007``).
    """
    return PATHS[kind].format(exp=exp, epoch=tag(epoch), layer=layer, dataset=dataset)


def trained_head_epoch(name):
    """The first visualised epoch whose classification head has been trained: the end of the first stage or later.
    Attribution explains a class through the head, and epoch 0's new head is random (an imported experiment's
    reference may have another task's head: its first checkpoint after the reference)."""
    first_stage_end = 1 if imported(name) else experiment(name)["stages"][0]["epochs"]
    return min(e for e in visual_epochs(name) if e >= first_stage_end)


def splits_file(name):
    return artifact("splits", dataset=experiment(name)["dataset"])


def probe_source(name):
    """What the probe images are drawn from: ``{"splits": its splits file}``, or ``{}`` for a probe folder."""
    return {} if experiment(name)["probe"] else {"splits": splits_file(name)}


def model_settings(name):
    """The model's settings that every job shares (``model``, ``image_size``, ``precision``, ...), defaults filled in:
    the training config of a trained experiment; the same keys with the training schema's defaults otherwise."""
    if not imported(name):
        return train_config(name)
    from driftlens.schemas import config_defaults

    return {**config_defaults(), **{key: value for key, value in experiment(name).items() if key in training_keys()}}


def checkpoint(name, epoch):
    return artifact("checkpoint", name, epoch)


def layers(name):
    """The labels of an experiment's visualised layers: their folders under results/{exp}/."""
    return list(layer_labels(experiment(name)))


def layer_of(name, label):
    """The model's layer behind a results folder's label (the layer itself for a screened-only layer)."""
    return layer_labels(experiment(name)).get(label, label)


def layer_args(name, labels, paths=None):
    """``layer`` or ``layer=path`` for each label: the model's layer names the commands take."""
    names = [layer_of(name, label) for label in labels]
    return " ".join(names if paths is None else (f"{layer}={path}" for layer, path in zip(names, paths)))


@functools.lru_cache(maxsize=None)
def model_blocks(model):
    """Every block of a model (its layers that hold a convolution, in forward order), from its architecture."""
    from driftlens.models import architecture

    return tuple(architecture(model).blocks())


def screen_layers(name):
    """The layers the change screen covers: the visualised ones, then the blocks or the listed layers it adds."""
    chosen = experiment(name)["screen"]["layers"]
    extra = [] if chosen == "visualized" else model_blocks(experiment(name)["model"]) if chosen == "blocks" else chosen
    return list(dict.fromkeys([*layers(name), *extra]))


def screen_layer_names(name):
    """The model's names of the screened layers, comma-separated (the representation command's --layers)."""
    return ",".join(layer_of(name, label) for label in screen_layers(name))


def screen_params(name):
    """The screen options the config sets; the command fills in the rest from driftlens.change.defaults."""
    screen = experiment(name)["screen"]
    return " ".join(option(f"--{key.replace('_', '-')}", screen.get(key))
                    for key in ("min_effect", "alpha", "top_k", "bootstrap"))


def seeds(name):
    """The image seeds of every render: ``seed, seed + 1, ...`` (``visualize.seeds`` of them)."""
    vis = experiment(name)["visualize"]
    return [vis["seed"] + k for k in range(vis["seeds"])]


def train_config(name):
    """The part of an experiment that training depends on (so other settings never retrain), with its defaults:
    the keys of the packaged training schema (src/driftlens/schemas/train.schema.yaml)."""
    exp = experiment(name)
    return validate_train_config({"splits": splits_file(name), **{key: exp[key] for key in training_keys() if key in exp}})


def option(flag, value):
    """``--flag 'value'`` for the shell, or nothing when value is empty."""
    return f"{flag} {shlex.quote(str(value))}" if value not in (None, "") else ""


def option_list(flag, items):
    """``--flag item item ...`` (items already quoted for the shell), or nothing when there are none."""
    return f"{flag} {items}" if items else ""


def quoted_json(value):
    return shlex.quote(json.dumps(value, sort_keys=True))


def render_method(name):
    """How a single image is rendered: ``--method``, ``--steps``, ``--size`` and ``--seed`` of ``visualize``."""
    vis = experiment(name)["visualize"]
    return f"--method {vis['method']} --steps {vis['steps']} --size {vis['size']} --seed {vis['seed']}"


def render_params(name):
    vis = experiment(name)["visualize"]
    return (f"{render_method(name)} --seeds {','.join(map(str, seeds(name)))}"
            f" --precision {model_settings(name)['precision']}"
            f" {option('--max-batch', vis['max_batch'])} {option('--warm-steps', vis['warm_start'] or '')}")


def warm_start_epoch(name, epoch):
    """The visualised epoch a warm-started render of ``epoch`` continues from; None for the first visualised epoch,
    or when the experiment renders every epoch from noise."""
    epochs = visual_epochs(name)
    if not experiment(name)["visualize"]["warm_start"] or int(epoch) == epochs[0]:
        return None
    return epochs[epochs.index(int(epoch)) - 1]


def warm_start_rows(name, epoch):
    """The render rows a warm-started render of ``epoch`` continues from, one per layer (or ``[]``)."""
    previous = warm_start_epoch(name, epoch)
    return [] if previous is None else [artifact("render", name, layer=layer, epoch=previous) for layer in layers(name)]


def warm_start_checkpoint(name, epoch):
    """The checkpoint those rows were rendered on (``[]`` when there are none)."""
    previous = warm_start_epoch(name, epoch)
    return [] if previous is None else [checkpoint(name, previous)]


def spectrum_files(name):
    """``[resources/{dataset}/spectrum.npz]`` when the experiment renders with maco, else ``[]``."""
    exp = experiment(name)
    return [artifact("spectrum", dataset=exp["dataset"])] if exp["visualize"]["method"] == "maco" else []


def channel_spec(name):
    """The channels as select-channels takes them (:func:`driftlens.schemas.channels.channel_spec_text`)."""
    return channel_spec_text(experiment(name)["visualize"]["channels"], selection_epoch(name))


def selection_epoch(name):
    """The screen epoch that most_changed channels are chosen from (default: the last), or None for other specs."""
    return selection_epoch_of(experiment(name), all_epochs(name))


def channel_inputs(name, layer):
    """What select-channels reads: the probe set, and the layer's screen when channels come from it."""
    inputs = {"probe": artifact("probe", name)}
    if selection_epoch(name) is not None:
        inputs["screen"] = artifact("screen", name, layer=layer)
    return inputs


def metrics_files(name):
    return [artifact("metrics", name, e) for e in all_epochs(name)]


def labelled(name):
    """Whether the probe images have classes: always for a data set; for a probe folder, when every image sits in a
    class sub-folder. Accuracy panels and attribution (which explains the true class) need them."""
    folder = experiment(name)["probe"]
    if not folder:
        return True
    from driftlens.data.folder import folder_images

    return bool(folder_images(folder)[1])


def attribution_on(name):
    return experiment(name)["attribution"]["enabled"] and labelled(name)


def training_figures(name):
    """``[training.png]``, or ``[]`` for an imported experiment without labelled probe images (nothing to plot)."""
    return [artifact("training_plot", name)] if labelled(name) else []


def attribution_figures(name):
    """The attribution pictures of an experiment, or none when attribution is switched off."""
    if not attribution_on(name):
        return []
    return [artifact(kind, name) for kind in ("attribution_grid", "attribution_drift_png")]


def rendered_files(name):
    """Every render of an experiment (.npz and .png). Requested by `rule all` because Snakemake does not
    remake a deleted intermediate file whose consumers are up to date: deleting one redoes its checkpoint's job."""
    return [artifact(kind, name, e, layer) for kind in ("render", "render_png") for layer in layers(name)
            for e in visual_epochs(name)]


def attribution_drift_table(name):
    """``[attribution/drift.csv]`` of an experiment, or ``[]`` when attribution is switched off."""
    return [artifact("attribution_drift", name)] if attribution_on(name) else []


def features_on(name):
    return experiment(name)["features"]["enabled"]


def feature_epochs(name):
    """The checkpoints the feature diff reads: epoch 0, the end of each stage (``stages``) or the listed epochs, and
    the last; an imported experiment's ``stages`` are its first and last checkpoints."""
    chosen, epochs = experiment(name)["features"]["epochs"], all_epochs(name)
    if chosen != "stages":
        return sorted({epochs[0], *chosen, epochs[-1]})
    if imported(name):
        return [epochs[0], epochs[-1]]
    ends = itertools.accumulate(stage["epochs"] for stage in experiment(name)["stages"])
    return sorted({0, *ends})


def feature_images(name):
    """``--splits`` (the training split) or ``--folder`` (a probe folder): the feature diff's training images."""
    folder = experiment(name)["probe"]
    return option("--folder", folder) if folder else option("--splits", splits_file(name))


def feature_settings(name):
    """The feature settings the config sets (the library fills in the rest), as JSON for the command line."""
    return quoted_json({key: value for key, value in experiment(name)["features"].items()
                        if key not in ("enabled", "epochs")})


def feature_files(name):
    """Every feature-diff output of an experiment, or none when it is switched off."""
    if not features_on(name):
        return []
    return [artifact(kind, name, layer=layer) for layer in layers(name) for kind in ("features", "features_png")]


def experiment_outputs(name):
    """Everything `rule all` builds for one experiment."""
    per_layer = [artifact(kind, name, layer=layer) for layer in layers(name) for kind in ("merged", "exemplars")]
    per_layer += feature_files(name)
    atlas = [artifact(kind, name, layer=layer) for layer in screen_layers(name) for kind in ("screen", "volcano")]
    figures = [artifact(kind, name) for kind in ("before_after", "change_plot", "depth", "report")] + training_figures(name)
    return (per_layer + atlas + figures + attribution_figures(name) + rendered_files(name)
            + accentuation_figures(name))


check_config()
