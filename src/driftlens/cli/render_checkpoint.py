"""``driftlens render-checkpoint``: every layer, channel and seed of one checkpoint in one batched render.

A workflow step: one job per rendered checkpoint writes one render row per layer (``.npz`` with all
seeds and its metadata inside, and a ``.png`` of the first seed). With ``--store``, a layer whose
upstream weights and settings were rendered before (:mod:`driftlens.optvis.store`) is not rendered
again: its stored arrays are written unchanged. With ``--warm-start``, the layers that are rendered continue
from an earlier epoch's rows (one per layer, rendered on ``--warm-start-checkpoint``) for ``--warm-steps``
steps instead of starting from noise; a channel whose start lost most of its score on this checkpoint restarts
from noise with the full steps (:mod:`driftlens.optvis.warm`). A warm-started experiment gives every job of its
chain ``--warm-steps`` (the first job too), so that a layer whose upstream weights did not change is still
reused exactly, never continued.

Example:
    driftlens render-checkpoint --checkpoint results/demo/checkpoints/epoch_003.pt \\
        --units blocks.12=results/demo/blocks.12/channels.txt --seeds 0,1,2 --steps 64 --size 64 \\
        --rows results/demo/blocks.12/epoch_003.npz --pngs results/demo/blocks.12/epoch_003.png \\
        --store results/demo/render_store
"""

import sys

from driftlens.cli._options import (add_device, add_precision, add_progress, comma_list, device_of, layer_and_path,
                                    positive_int)
from driftlens.cli.render import method_options
from driftlens.optvis import METHODS
from driftlens.errors import ConfigError


def add_parser(subparsers):
    """Register ``render-checkpoint``."""
    parser = subparsers.add_parser("render-checkpoint")
    parser.add_argument("--checkpoint", required=True, help="a driftlens training checkpoint")
    parser.add_argument("--units", nargs="+", required=True, metavar="LAYER=FILE",
                        help="each layer with the file holding its channels (as select-channels writes it)")
    parser.add_argument("--seeds", required=True, type=comma_list(int), help="image seeds, e.g. 0,1,2")
    parser.add_argument("--method", choices=sorted(METHODS), default="lucid", help="default: lucid")
    parser.add_argument("--spectrum", help="maco only: a magnitude spectrum from `driftlens spectrum`")
    parser.add_argument("--steps", type=positive_int, default=512, help="default: 512")
    parser.add_argument("--size", type=positive_int, default=128, help="default: 128")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random transforms (default: 0)")
    parser.add_argument("--max-batch", type=positive_int, help="most images per optimisation (default: from the device)")
    parser.add_argument("--warm-steps", type=positive_int,
                        help="steps of a render that continues from --warm-start rows; part of a warm chain's settings")
    parser.add_argument("--warm-start", nargs="+", metavar="NPZ",
                        help="one earlier render row per layer, in order, to continue from (lucid only)")
    parser.add_argument("--warm-start-checkpoint", metavar="PT", help="the checkpoint the --warm-start rows were "
                                                                      "rendered on (for the restart rule)")
    add_device(parser)
    add_precision(parser)
    parser.add_argument("--rows", nargs="+", required=True, metavar="NPZ", help="one render row per layer, in order")
    parser.add_argument("--pngs", nargs="+", required=True, metavar="PNG", help="one picture per layer, in order")
    parser.add_argument("--store", metavar="DIR",
                        help="reuse renders of identical upstream weights and settings kept here, and keep new ones")
    add_progress(parser)
    parser.set_defaults(func=run)


def run(args):
    """Render and write one row per layer."""
    from driftlens import models
    from driftlens.artifacts import RenderedRow, read_channels, write_row
    from driftlens.grids import image_grid
    from driftlens.io import save_image
    from driftlens.precision import resolved

    units = {layer: read_channels(path) for layer, path in (layer_and_path(item, "--units") for item in args.units)}
    if not len(units) == len(args.rows) == len(args.pngs):
        raise ConfigError(f"{len(units)} layers but {len(args.rows)} --rows and {len(args.pngs)} --pngs")
    seeds = args.seeds
    starts = _warm_starts(units, args)
    model = models.from_checkpoint(args.checkpoint).to(device_of(args))
    print(f"rendering epoch {model.epoch}: {sum(map(len, units.values())) * len(seeds)} images on {model.device}"
          f" in {resolved(args.precision, model.device)}"
          + (f", continuing from epoch {next(iter(starts.values())).epoch} for {args.warm_steps} steps" if starts
             else ""), file=sys.stderr)
    settings = {"method": args.method, "steps": args.steps, "size": args.size, "seed": args.seed, "model": model.name,
                "warm_steps": args.warm_steps}
    images = (_stored_or_rendered(model, units, args, settings, starts) if args.store
              else _render(model, units, args, starts))
    for (layer, channels), row_path, png_path in zip(units.items(), args.rows, args.pngs):
        row = RenderedRow(images[layer], channels, seeds, layer, model.epoch, settings)
        write_row(row_path, row)
        save_image(image_grid([row.first_seed]), png_path)


def _warm_starts(units, args) -> dict | None:
    """The ``--warm-start`` rows by layer, checked against this job's layers, channels, seeds and size."""
    from driftlens.artifacts import read_row
    from driftlens.optvis.methods import WARM_START_METHODS

    if not args.warm_start:
        return None
    if args.method not in WARM_START_METHODS:
        raise ConfigError(f"--warm-start: {args.method} renders cannot continue from earlier renders; warm starts "
                          f"are for {', '.join(WARM_START_METHODS)}")
    if args.warm_steps is None or args.warm_start_checkpoint is None:
        raise ConfigError("--warm-start needs --warm-steps (the steps of the continued renders) and "
                          "--warm-start-checkpoint (the checkpoint its rows were rendered on)")
    if len(args.warm_start) != len(units):
        raise ConfigError(f"{len(units)} layers but {len(args.warm_start)} --warm-start rows")
    starts = {}
    for (layer, channels), path in zip(units.items(), args.warm_start):
        row = read_row(path)
        if (row.layer, list(row.channels), list(row.seeds), row.images.shape[2]) != (layer, list(channels),
                                                                                   list(args.seeds), args.size):
            raise ConfigError(f"--warm-start {path}: holds layer {row.layer}, channels {list(row.channels)}, seeds "
                              f"{list(row.seeds)} at {row.images.shape[2]} px; this job renders {layer}, channels "
                              f"{list(channels)}, seeds {list(args.seeds)} at {args.size} px")
        starts[layer] = row
    return starts


def _render(model, units, args, starts=None) -> dict:
    from driftlens import models
    from driftlens.optvis import visualize_units
    from driftlens.optvis.warm import continue_units

    options = {"method": args.method, "size": args.size, "seed": args.seed, "max_batch": args.max_batch,
               "progress": not args.no_progress, **method_options(args)}
    if starts is None:
        return visualize_units(model, units, args.seeds, steps=args.steps, **options)
    previous = models.from_checkpoint(args.warm_start_checkpoint).to(model.device)
    start_images = {layer: starts[layer].images for layer in units}
    images, restarted = continue_units(previous, model, units, args.seeds, start_images, args.steps, args.warm_steps,
                                       **options)
    for layer, channels in restarted.items():
        print(f"{layer}: {len(units[layer]) - len(channels)} channels continued for {args.warm_steps} steps, "
              f"{len(channels)} restarted from noise for {args.steps} (their start lost most of its score): "
              f"{channels}", file=sys.stderr)
    return images


def _stored_or_rendered(model, units, args, settings, starts=None) -> dict:
    """Each layer's images from the store where its key is there; the others rendered (in one batch) and stored.

    Layers that another job is rendering at the same time are waited for after this job's own renders, and reused.
    """
    from driftlens.models.weights import sha256_of
    from driftlens.optvis.store import RenderStore, render_key
    from driftlens.precision import resolved

    everything = {**settings, "precision": str(resolved(args.precision, model.device)), "max_batch": args.max_batch,
                  "spectrum": sha256_of(args.spectrum) if args.spectrum else None, "device": model.device.type}
    keys = {layer: render_key(model, layer, channels, args.seeds, everything) for layer, channels in units.items()}
    store = RenderStore(args.store)
    with store.claim(keys.values()) as busy:
        images, rendered = _from_store(model, store, keys, units, args, [l for l, k in keys.items() if k not in busy],
                                       starts)
    with store.reserve(busy):
        waited, also = _from_store(model, store, keys, units, args, [l for l, k in keys.items() if k in busy], starts)
    print(f"reusing {len(units) - rendered - also} of {len(units)} layers' renders from {args.store}", file=sys.stderr)
    return {**images, **waited}


def _from_store(model, store, keys, units, args, layers, starts=None) -> tuple[dict, int]:
    """``layers``' images (stored ones read, missing ones rendered together and stored: their keys are held), and
    how many were rendered."""
    images = {layer: store.get(keys[layer]) for layer in layers}
    missing = {layer: units[layer] for layer in layers if images[layer] is None}
    if missing:
        rendered = _render(model, missing, args, starts)
        for layer, layer_images in rendered.items():
            store.put(keys[layer], layer_images)
        images.update(rendered)
    return images, len(missing)

