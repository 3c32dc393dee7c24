"""``driftlens feature-activations``, ``features`` and ``plot-features``: the feature diff of a layer's checkpoints.

``feature-activations`` runs one checkpoint (or a noise copy of it) over the training images and the probe set and
keeps each layer's activation vectors; ``features`` trains the crosscoder of one layer over those files and writes
its table, summary and dictionary (:mod:`driftlens.features`); ``plot-features`` draws ``features.png``.

Example:
    driftlens feature-activations --checkpoint results/demo/checkpoints/epoch_003.pt \\
        --previous results/demo/checkpoints/epoch_001.pt --layers blocks.12,blocks.14 \\
        --splits resources/textures/splits.json --probe results/demo/probe.npz \\
        -o results/demo/features/activations_003.npz
    driftlens features --layer blocks.14 --activations results/demo/features/activations_*.npz \\
        --noise-activations results/demo/features/activations_noise.npz --probe results/demo/probe.npz \\
        -o results/demo/blocks.14/features.csv --summary results/demo/blocks.14/features.json \\
        --dictionary results/demo/blocks.14/crosscoder.npz
"""

import json

# The library modules are imported in the run functions: every `driftlens` call builds all parsers.
from driftlens.cli._options import add_device, add_progress, comma_list, device_of, positive_float, positive_int


def add_parser(subparsers):
    """Register ``feature-activations``, ``features`` and ``plot-features``."""
    extract = subparsers.add_parser("feature-activations")
    extract.add_argument("--checkpoint", required=True, metavar="PT", help="the checkpoint to run")
    extract.add_argument("--previous", metavar="PT", help="the previous checkpoint of the diff: layers whose upstream "
                                                          "weights equal its are marked and not stored")
    extract.add_argument("--noise-output", metavar="NPZ",
                         help="also write the noise null's file: the same for a copy under relative weight noise")
    extract.add_argument("--noise", type=positive_float, default=_default("noise"), metavar="SCALE",
                         help=f"the noise copy's relative weight noise (default: {_default('noise')})")
    extract.add_argument("--layers", required=True, type=comma_list(), help="comma-separated, e.g. blocks.12,blocks.14")
    images = extract.add_mutually_exclusive_group(required=True)
    images.add_argument("--splits", metavar="JSON", help="training images: the train split of this splits.json")
    images.add_argument("--folder", metavar="DIR", help="training images: every image of this folder")
    extract.add_argument("--probe", required=True, metavar="NPZ", help="the probe set (probe.npz); also gives the size")
    extract.add_argument("--max-vectors", type=positive_int, default=_default("max_vectors"),
                         help=f"most training positions per layer (default: {_default('max_vectors')})")
    extract.add_argument("--seed", type=int, default=_default("seed"), help="seed of the positions and of the noise")
    extract.add_argument("--batch-size", type=positive_int, default=32, help="images per forward pass (default: 32)")
    extract.add_argument("-o", "--output", required=True, help="the .npz to write")
    add_device(extract)
    add_progress(extract)
    extract.set_defaults(func=run_activations)

    diff = subparsers.add_parser("features")
    diff.add_argument("--layer", required=True, help="the layer")
    diff.add_argument("--activations", nargs="+", required=True, metavar="NPZ", help="feature-activations files")
    diff.add_argument("--noise-activations", metavar="NPZ", help="the noise copy's file (the null); default: no null")
    diff.add_argument("--probe", required=True, metavar="NPZ", help="the probe set (labels, classes, file names)")
    diff.add_argument("--settings", type=json.loads, default={}, metavar="JSON",
                      help="feature settings (driftlens.features.FeatureSettings), e.g. '{\"steps\": 300}'")
    diff.add_argument("-o", "--output", required=True, help="features.csv")
    diff.add_argument("--summary", required=True, help="features.json: quality, nulls, thresholds, counts")
    diff.add_argument("--dictionary", required=True, help="crosscoder.npz: the dictionary's weights")
    add_device(diff)
    add_progress(diff)
    diff.set_defaults(func=run_features)

    plot = subparsers.add_parser("plot-features")
    plot.add_argument("--features", required=True, metavar="CSV", help="features.csv")
    plot.add_argument("--summary", required=True, metavar="JSON", help="features.json")
    plot.add_argument("--dictionary", required=True, metavar="NPZ", help="crosscoder.npz")
    plot.add_argument("--probe", required=True, metavar="NPZ", help="the probe set")
    plot.add_argument("--checkpoints", nargs="+", required=True, metavar="PT", help="the checkpoints of the diff")
    plot.add_argument("--method", default="lucid", help="render method (default: lucid)")
    plot.add_argument("--steps", type=positive_int, default=256, help="render steps (default: 256)")
    plot.add_argument("--size", type=positive_int, default=128, help="render side (default: 128)")
    plot.add_argument("--seed", type=int, default=0, help="render seed (default: 0)")
    plot.add_argument("-o", "--output", required=True, help="features.png")
    add_device(plot)
    add_progress(plot)
    plot.set_defaults(func=run_plot)


def _default(name):
    """A feature setting's default, from its one home (read without importing torch)."""
    import ast
    import importlib.util
    from pathlib import Path

    source = Path(importlib.util.find_spec("driftlens").origin).parent / "features" / "diff.py"
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == name:
            return ast.literal_eval(node.value)
    raise KeyError(name)


def run_activations(args):
    """Write one checkpoint's activation vectors of every layer (and its noise copy's, with ``--noise-output``)."""
    import torch

    from driftlens import data, models
    from driftlens.artifacts import read_probe
    from driftlens.change.planted import perturb

    device = device_of(args)
    model = models.from_checkpoint(args.checkpoint).to(device)
    same_as = {}
    if args.previous:
        previous = models.from_checkpoint(args.previous).to(device)
        same_as = {layer: previous.epoch for layer in args.layers if models.same_upstream(previous, model, [layer])}
    probe = torch.from_numpy(read_probe(args.probe)[0])
    size = probe.shape[-1]
    images = data.SplitDataset(args.splits, "train", size) if args.splits else data.folder_probe_images(
        args.folder, 10 ** 9, size)[0]
    _write_activations(args, model, model.epoch, images, probe, same_as, args.output)
    if args.noise_output:
        noisy = perturb(model, args.noise, seed=args.seed, relative=True)
        _write_activations(args, noisy, -1, images, probe, {}, args.noise_output)


def _write_activations(args, model, epoch, images, probe, same_as, path):
    """Run the training images and the probe set through ``model`` and write the layers not in ``same_as``."""
    import torch

    from driftlens.artifacts import write_feature_activations
    from driftlens.features.activations import training_and_probe_vectors

    layers = [layer for layer in args.layers if layer not in same_as]
    if not layers:  # every layer as at the previous checkpoint: nothing to run
        write_feature_activations(path, epoch, {}, {}, {}, same_as)
        return
    batches = torch.utils.data.DataLoader(images, batch_size=args.batch_size)
    found = training_and_probe_vectors(model, (_images(batch) for batch in batches), probe, layers, args.max_vectors,
                                       args.seed, args.batch_size, not args.no_progress, total=len(batches))
    write_feature_activations(path, epoch, found["train"], found["positions"], found["probe"], same_as)


def _images(batch):
    return batch[0] if isinstance(batch, (list, tuple)) else batch


def run_features(args):
    """Train one layer's crosscoder over the checkpoints' activation files and write its table, summary, weights."""
    import torch

    from driftlens.artifacts import read_feature_activations, read_probe, read_probe_classes
    from driftlens.features import FeatureSettings, feature_diff

    device = device_of(args)
    train, probe, skipped = {}, {}, {}
    for path in args.activations:
        epoch, same_as, vectors, _, maps = read_feature_activations(path, args.layer)
        if same_as is not None:
            skipped[epoch] = same_as
            continue
        train[epoch], probe[epoch] = torch.from_numpy(vectors).to(device), torch.from_numpy(maps).to(device)
    noise = None
    if args.noise_activations and len(train) > 1:
        noise = torch.from_numpy(read_feature_activations(args.noise_activations, args.layer)[2]).to(device)
    labels = read_probe(args.probe)[1]
    diff = feature_diff(train, probe, noise, labels, read_probe_classes(args.probe),
                        FeatureSettings.from_dict(args.settings), progress=not args.no_progress)
    diff.skipped = skipped
    write_diff(diff, args.layer, args.probe, args.output, args.summary, args.dictionary)


def write_diff(diff, layer: str, probe, table_path, summary_path, dictionary_path) -> None:
    """Write a layer's feature diff: ``features.csv`` (exemplars named by the probe set's files), its summary JSON
    and the dictionary.

    Example:
        >>> write_diff(diff, "blocks.14", "results/demo/probe.npz", "features.csv", "features.json",
        ...            "crosscoder.npz")  # doctest: +SKIP
    """
    from driftlens.artifacts import read_probe, read_probe_files, write_crosscoder, write_features_table
    from driftlens.features import with_exemplar_files
    from driftlens.io import save_json

    side = read_probe(probe)[0].shape[-1]
    table = with_exemplar_files(diff.table, diff.exemplars, read_probe_files(probe), side / diff.summary["map_side"])
    state = {name: value.detach().cpu().numpy() for name, value in diff.coder.state_dict().items()}
    write_crosscoder(dictionary_path, layer, diff.summary["epochs"], state, diff.scales.cpu().numpy(), diff.exemplars)
    save_json({**diff.summary, "layer": layer, "skipped_epochs": {str(e): same for e, same in diff.skipped.items()}},
              summary_path)
    write_features_table(table_path, table, layer)


def run_plot(args):
    """Draw features.png: the relative-norm histogram and a gallery of the top new and lost latents."""
    from driftlens import models

    checkpoints = {model.epoch: model for model in (models.from_checkpoint(path) for path in args.checkpoints)}
    plot_diff(checkpoints, args.features, args.summary, args.dictionary, args.probe, args.output,
              device=device_of(args), method=args.method, steps=args.steps, size=args.size, seed=args.seed,
              progress=not args.no_progress)


def plot_diff(checkpoints: dict, table_path, summary_path, dictionary_path, probe, output, device="cpu",
              progress: bool = True, **render_options) -> None:
    """Draw a layer's ``features.png`` from its written diff, rendering the gallery latents with ``checkpoints``.

    Example:
        >>> plot_diff({0: first, 3: last}, "features.csv", "features.json", "crosscoder.npz", "probe.npz",
        ...           "features.png", steps=64, size=96)  # doctest: +SKIP
    """
    from driftlens.artifacts import read_crosscoder, read_features_table, read_json, read_probe
    from driftlens.features.gallery import gallery_rows, render_directions
    from driftlens.figures import plot_features, save_figure

    meta, state, _, exemplars = read_crosscoder(dictionary_path)
    table, summary = read_features_table(table_path, meta["layer"]), read_json(summary_path)
    rows = gallery_rows(table, summary["settings"]["gallery"])
    renders = render_directions(checkpoints, meta, state, rows, device=device, progress=progress, **render_options)
    figure = plot_features(table, summary, read_probe(probe)[0], exemplars, rows, renders, meta["layer"])
    save_figure(figure, output)
