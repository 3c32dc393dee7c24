"""``driftlens feature-activations`` and ``features``: the feature diff of a layer's checkpoints.

``feature-activations`` runs each feature checkpoint (and epoch 0's noise copy) over the training images and the probe
set once, and keeps every layer's activation vectors in one file (:func:`driftlens.features.series.collect_vectors`);
``features`` trains the crosscoder of one layer over that file, writes its table, summary and dictionary
(:mod:`driftlens.features`) and, with ``--figure``, draws ``features.png``.

Example:
    driftlens feature-activations --checkpoints results/demo/checkpoints/epoch_{000,001,003}.pt \\
        --layers blocks.12,blocks.14 --splits resources/textures/splits.json --probe results/demo/probe.npz \\
        -o results/demo/features/activations.npz
    driftlens features --layer blocks.14 --activations results/demo/features/activations.npz \\
        --probe results/demo/probe.npz -o results/demo/blocks.14/features.csv \\
        --summary results/demo/blocks.14/features.json --dictionary results/demo/blocks.14/crosscoder.npz \\
        --figure results/demo/blocks.14/features.png --checkpoints results/demo/checkpoints/epoch_{000,003}.pt
"""

import json

# The library modules are imported in the run functions: every `driftlens` call builds all parsers.
from driftlens.cli._options import add_device, add_moved, add_progress, comma_list, device_of, positive_int


def add_parser(subparsers):
    """Register ``feature-activations`` and ``features``."""
    extract = subparsers.add_parser("feature-activations")
    extract.add_argument("--checkpoints", nargs="+", required=True, metavar="PT",
                         help="the checkpoints of the diff, epoch 0's first (its noise copy is the null)")
    extract.add_argument("--layers", required=True, type=comma_list(), help="comma-separated, e.g. blocks.12,blocks.14")
    images = extract.add_mutually_exclusive_group(required=True)
    images.add_argument("--splits", metavar="JSON", help="training images: the train split of this splits.json")
    images.add_argument("--folder", metavar="DIR", help="training images: every image of this folder")
    extract.add_argument("--probe", required=True, metavar="NPZ", help="the probe set (probe.npz); also gives the size")
    _add_settings(extract, "max_vectors, seed and noise are read")
    extract.add_argument("--batch-size", type=positive_int, default=32, help="images per forward pass (default: 32)")
    extract.add_argument("-o", "--output", required=True, help="the .npz to write")
    for flag, message in MOVED_ACTIVATION_OPTIONS.items():
        add_moved(extract, flag, message)
    add_device(extract)
    add_progress(extract)
    extract.set_defaults(func=run_activations)

    diff = subparsers.add_parser("features")
    diff.add_argument("--layer", required=True, help="the layer")
    diff.add_argument("--activations", required=True, metavar="NPZ", help="the feature-activations file")
    diff.add_argument("--probe", required=True, metavar="NPZ", help="the probe set (labels, classes, file names)")
    _add_settings(diff, "")
    diff.add_argument("-o", "--output", required=True, help="features.csv")
    diff.add_argument("--summary", required=True, help="features.json: quality, nulls, thresholds, counts")
    diff.add_argument("--dictionary", required=True, help="crosscoder.npz: the dictionary's weights")
    diff.add_argument("--figure", metavar="PNG", help="also draw features.png (needs --checkpoints, for its renders)")
    diff.add_argument("--checkpoints", nargs="+", metavar="PT", help="with --figure: the checkpoints of the diff")
    diff.add_argument("--method", default="lucid", help="render method of the figure (default: lucid)")
    diff.add_argument("--steps", type=positive_int, default=256, help="render steps (default: 256)")
    diff.add_argument("--size", type=positive_int, default=128, help="render side (default: 128)")
    diff.add_argument("--seed", type=int, default=0, help="render seed (default: 0)")
    add_moved(diff, "--noise-activations", "the noise copy's vectors are in the --activations file")
    add_device(diff)
    add_progress(diff)
    diff.set_defaults(func=run_features)


MOVED_ACTIVATION_OPTIONS = {
    "--checkpoint": "give every checkpoint of the diff to --checkpoints, epoch 0's first; one file holds them all",
    "--previous": "give every checkpoint to --checkpoints: a layer whose upstream weights equal the previous "
                  "checkpoint's is found and skipped there",
    "--noise-output": "epoch 0's noise copy is written into the -o file",
    "--noise": "give it in --settings, e.g. '{\"noise\": 0.001}'",
    "--max-vectors": "give it in --settings, e.g. '{\"max_vectors\": 32768}'",
}
"""``feature-activations``'s options of one file per checkpoint, and what replaced each."""


def _add_settings(parser, which: str) -> None:
    parser.add_argument("--settings", type=json.loads, default={}, metavar="JSON",
                        help=f"feature settings (driftlens.features.FeatureSettings), e.g. '{{\"steps\": 300}}'"
                             f"{'; ' + which if which else ''}")


def run_activations(args):
    """Write every layer's activation vectors over the checkpoints, and epoch 0's noise copy's."""
    import torch

    from driftlens import data, models
    from driftlens.artifacts import read_probe, write_feature_activations
    from driftlens.devices import deterministic
    from driftlens.features import FeatureSettings
    from driftlens.features.series import collect_vectors

    device = device_of(args)
    deterministic(device)
    by_epoch = {model.epoch: model.to(device) for model in map(models.from_checkpoint, args.checkpoints)}
    probe = torch.from_numpy(read_probe(args.probe)[0])
    size = probe.shape[-1]
    images = data.SplitDataset(args.splits, "train", size) if args.splits else data.folder_probe_images(
        args.folder, 10 ** 9, size)[0]
    batches = torch.utils.data.DataLoader(images, batch_size=args.batch_size)
    found = collect_vectors(by_epoch.get, list(by_epoch), args.layers, lambda: (_images(batch) for batch in batches),
                            probe, FeatureSettings.from_dict(args.settings), progress=not args.no_progress)
    write_feature_activations(args.output, found)


def _images(batch):
    return batch[0] if isinstance(batch, (list, tuple)) else batch


def run_features(args):
    """Train one layer's crosscoder over the activation file and write its table, summary, weights and figure."""
    from driftlens import models
    from driftlens.artifacts import read_feature_activations, read_probe, read_probe_classes
    from driftlens.devices import deterministic
    from driftlens.errors import ConfigError
    from driftlens.features import FeatureSettings
    from driftlens.features.series import diff_layer

    if args.figure and not args.checkpoints:
        raise ConfigError("--figure needs --checkpoints: the figure renders each feature at its checkpoint")
    device = device_of(args)
    deterministic(device)  # the same dictionary for the same seed on CUDA too
    diff = diff_layer(read_feature_activations(args.activations, args.layer), read_probe(args.probe)[1],
                      read_probe_classes(args.probe), FeatureSettings.from_dict(args.settings), device,
                      progress=not args.no_progress)
    write_diff(diff, args.layer, args.probe, args.output, args.summary, args.dictionary)
    if args.figure:
        checkpoints = {model.epoch: model for model in map(models.from_checkpoint, args.checkpoints)}
        plot_diff(checkpoints, args.output, args.summary, args.dictionary, args.probe, args.figure, device=device,
                  method=args.method, steps=args.steps, size=args.size, seed=args.seed, progress=not args.no_progress)


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
