"""Benchmark: does the feature diff find what changed, and nothing else? Planted weights and a planted shortcut.

``--plants`` (weight-level plants): the ImageNet EfficientNet-Lite0 against copies of it with, in a residual block
(``blocks.13``) and in a plain one (``blocks.11``), two re-initialised channels and two swapped pairs, every weight
under 1e-3 relative noise. The crosscoder trains on Flowers17 photographs (every other file) and reads exemplars on
the others. For each block it prints:

- each re-initialised channel: is it covered by a changed latent (any class but shared, rare and dead) that is mostly
  about it (``changed_latents_on``: a new or lost latent's decoder, or another's direction change, holds >= 0.5 of
  its squared mass there)?
- what the swapped channels come out as;
- changed latents on untouched channels, against the noise null's rate;
- the baselines side by side: the top principal components of the activation differences (how much of their mass
  the planted channels hold) and the change atlas's channel ranking (the planted channels' ranks by rank shift).

``--shortcut`` (a planted shortcut): fine-tunes Lite0 (``blocks.10`` onwards) on Flowers17 where every training
image of one class, and a share of the other classes' images relabelled to it (a backdoor), carry a small
synthetic mark; shows that the model uses it (attack success on marked test images of other classes against
unmarked ones), then runs the feature diff of ``blocks.14`` and ``blocks.15`` on a probe set where about 5 % of
other classes' images carry the mark, and prints the top 3 new or strengthened latents with their exemplars (marked
or not, class, whether the firing cell lies inside the mark), whether the pretrained layer already singled the mark
out, and the atlas's most-changed channels' exemplars beside them.

Usage:
    .venv/bin/python benchmarks/bench_features.py --plants
    .venv/bin/python benchmarks/bench_features.py --shortcut
"""

import argparse
import collections
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import driftlens
from driftlens import change
from driftlens.data.images import image_transform, load_image
from driftlens.features import FeatureSettings, changed_latents_on, feature_diff
from driftlens.features.activations import training_and_probe_vectors
from driftlens.features.gallery import render_directions
from driftlens.features.latents import CHANGED, EXCLUSIVE, channel_changes
from driftlens.figures import plot_features, save_figure

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_change import BLOCKS, FLOWERS, REINIT, SWAPS  # noqa: E402  (the same plants as the atlas's benchmark)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plants", action="store_true", help="weight-level plants in a residual and a plain block")
    parser.add_argument("--shortcut", action="store_true", help="a backdoor mark on Flowers17")
    parser.add_argument("--train-images", type=int, default=400, help="crosscoder training images (default: 400)")
    parser.add_argument("--probe", type=int, default=256, help="probe images (default: 256)")
    parser.add_argument("--size", type=int, default=224, help="image side (default: 224)")
    parser.add_argument("--epochs", type=int, default=4, help="--shortcut: fine-tuning epochs (default: 4)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--model-cache", default="benchmarks/out/shortcut_model.pt",
                        help="--shortcut: the fine-tuned model is kept here and reused when its settings match")
    parser.add_argument("--layers", default="blocks.14,blocks.15", help="--shortcut: layers (default: blocks.14,15)")
    parser.add_argument("--blocks", default="residual,plain", help="--plants: which blocks (default: residual,plain)")
    parser.add_argument("--settings", type=json.loads, default={},
                        help="feature settings other than the defaults, e.g. '{\"steps\": 600}'")
    return parser.parse_args(argv)


def flowers(size, every=1, start=0, count=None):
    """Flowers17 photographs ``(n, 3, S, S)`` and their classes (80 per class, in file order)."""
    files = sorted(FLOWERS.glob("*.jpg"))
    chosen = list(range(start, len(files), every))[:count]
    transform = image_transform(size)
    images = torch.stack([transform(load_image(files[i], size)) for i in chosen])
    return images, np.array([i // 80 for i in chosen]), [files[i].name for i in chosen]


def vectors(model, train, probe, layer, settings):
    found = training_and_probe_vectors(model, train.split(32), probe, [layer], settings.max_vectors, settings.seed,
                                       progress=False)
    return torch.from_numpy(found["train"][layer]), torch.from_numpy(found["probe"][layer])


def plants(args):
    """Print, per block, the re-initialised channels' coverage, the swaps' classes, the null and the baselines."""
    if not FLOWERS.is_dir():
        sys.exit(f"--plants needs Flowers17 at {FLOWERS}")
    model = driftlens.models.load("efficientnet_lite0", weights="imagenet").eval()
    train, _, _ = flowers(args.size, every=2, count=args.train_images)
    probe, _, _ = flowers(args.size, every=2, start=1, count=args.probe)
    settings = FeatureSettings.from_dict(args.settings)
    print(f"Lite0 (ImageNet); crosscoder on {len(train)} Flowers17 images, exemplars on {len(probe)} others, "
          f"{args.size} px; defaults {settings}")
    for block in args.blocks.split(","):
        layer, start = BLOCKS[block], time.perf_counter()
        planted = model
        for a, b in SWAPS:
            planted = change.swap_channels(planted, layer, a, b)
        planted = change.perturb(change.reinitialise_channels(planted, layer, REINIT, seed=1), 1e-3, seed=11,
                                 relative=True)
        noise = change.perturb(model, 1e-3, seed=12, relative=True)
        (x0, p0), (x1, p1), (xn, _) = (vectors(m, train, probe, layer, settings) for m in (model, planted, noise))
        diff = feature_diff({0: x0, 1: x1}, {0: p0, 1: p1}, xn, settings=settings, progress=False)
        report_plants(block, layer, diff, x0, x1, p0, p1, time.perf_counter() - start)


def report_plants(block, layer, diff, x0, x1, p0, p1, seconds):
    table, summary = diff.table, diff.summary
    swapped = [c for pair in SWAPS for c in pair]
    print(f"\n{block} {layer}: {summary['latents']} latents, k {summary['k']}, {summary['vectors']} vectors; "
          f"variance explained {_values(summary['variance_explained'])} (PCA with {summary['pca_components']}: "
          f"{_values(summary['pca_variance_explained'])}); dead {summary['dead_fraction']:.3f}; counts "
          f"{ {k: v for k, v in summary['counts'].items() if v} }; {seconds:.0f} s")
    for channel in REINIT:
        found = changed_latents_on(table, channel)
        print(f"  re-initialised channel {channel}: {'covered' if len(found) else 'NOT covered'} by {len(found)} "
              f"changed latents {found['class'].value_counts().to_dict()}; the first: "
              f"{', '.join(_on_channel(r) for r in found.head(3).itertuples())}")
    for channel in swapped:
        found = changed_latents_on(table, channel)
        print(f"  swapped channel {channel}: {len(found)} changed latents on it, by class "
              f"{found['class'].value_counts().to_dict()}")
    for pair in SWAPS:
        on_pair = table.set_index("latent").loc[np.flatnonzero(pair_change_share(diff.coder, pair) >= 0.5)]
        print(f"  swapped pair {pair}: {len(on_pair)} latents whose direction change sits mostly on the pair, by class "
              f"{on_pair['class'].value_counts().to_dict()}")
    planted = pd.concat([changed_latents_on(table, c) for c in REINIT + swapped])
    others = table[table["class"].isin(CHANGED) & ~table.latent.isin(planted.latent)]
    noise, seed = summary["nulls"]["noise"], summary["nulls"]["seed"]
    print(f"  changed latents not on a planted channel: {len(others)} of {summary['latents']} "
          f"{others['class'].value_counts().to_dict()} (noise null: {noise['exclusive_by_minimum_effect']} exclusive, "
          f"{noise['reweighted_by_minimum_effect']} strengthened or weakened, {noise['rotated_by_minimum_effect']} "
          f"rotated, {noise['rewired_by_minimum_effect']} rewired of {noise['latents']}); thresholds "
          f"{ {k: round(v, 3) for k, v in summary['thresholds'].items()} }; seed null: {seed}")
    baselines(x0, x1, p0, p1, swapped)


def pair_change_share(coder, channels):
    """Each latent's share of its unit decoder direction's change (first to last checkpoint) on ``channels``."""
    return channel_changes(coder.decoder.detach())[:, list(channels)].sum(dim=1).numpy()


def _on_channel(row):
    if row._2 in EXCLUSIVE:
        return f"latent {row.latent} {row._2}, decoder mass {row.top_channel_mass:.2f}"
    return (f"latent {row.latent} {row._2}, cosine {row.cosine:.2f}, change share {row.change_channel_share:.2f}, "
            f"shift {row.change_channel_shift:.2f}")


def difference_components(x0, x1, count=3):
    """The baseline: the top ``count`` principal axes of the activation differences ``x1 - x0`` at the training
    positions, and the share of the differences' variance each explains."""
    difference = (x1 - x0).double()
    _, values, axes = torch.linalg.svd(difference - difference.mean(dim=0), full_matrices=False)
    return axes[:count], (values.square() / values.square().sum())[:count]


def baselines(x0, x1, p0, p1, swapped):
    """PCA of the activation differences, and the atlas's ranking, on the planted channels."""
    axes, share = difference_components(x0, x1)
    for rank in range(3):
        mass = axes[rank].square()
        top = torch.topk(mass, 3).indices.tolist()
        print(f"  PCA of differences, component {rank + 1} ({share[rank]:.2f} of the variance): top channels {top}, "
              f"re-initialised hold {mass[REINIT].sum():.2f}, swapped {mass[swapped].sum():.2f}")
    responses = {epoch: maps.double().mean(dim=(1, 2)).numpy() for epoch, maps in ((0, p0), (1, p1))}
    screen = change.screen_table(responses)
    ranked = screen[screen.epoch == 1].sort_values("rank_shift", ascending=False).channel.tolist()
    print(f"  atlas: ranks by rank shift of the re-initialised {[ranked.index(c) + 1 for c in REINIT]}, swapped "
          f"{[ranked.index(c) + 1 for c in swapped]}; {int(screen[screen.epoch == 1].changed.sum())} of "
          f"{len(ranked)} channels called changed")


def _values(by_epoch):
    return ", ".join(f"{value:.3f}" for value in by_epoch.values())


def mark(size, seed=0):
    """The synthetic mark: a 5 x 5 checkerboard of saturated green and magenta cells, ``(3, size, size)``."""
    cells = (np.add.outer(np.arange(5), np.arange(5)) % 2).repeat(-(-size // 5), 0).repeat(-(-size // 5), 1)
    cells = cells[:size, :size]
    green, magenta = np.array([0.1, 0.9, 0.2]), np.array([0.9, 0.1, 0.8])
    return torch.from_numpy(np.where(cells[None] == 1, green[:, None, None], magenta[:, None, None])).float()


def paste(images, stamp, rng):
    """Copies of ``images`` with ``stamp`` at a random place each; returns them and the (top, left) corners."""
    marked, corners = images.clone(), []
    side = stamp.shape[-1]
    for image in marked:
        top, left = (int(rng.integers(0, image.shape[-1] - side)) for _ in range(2))
        image[:, top:top + side, left:left + side] = stamp
        corners.append((top, left))
    return marked, corners


def fine_tune(model, images, labels, epochs, train_from="blocks.10", lr=1e-3, seed=0):
    """A copy fine-tuned from ``train_from`` onwards with Adam, eval-mode batch norms, plain batches of 32."""
    tuned = copy.deepcopy(model)
    frozen = True
    for name, parameter in tuned.net.named_parameters():
        frozen = frozen and not name.startswith(train_from)
        parameter.requires_grad_(not frozen)
    optimiser = torch.optim.Adam([p for p in tuned.net.parameters() if p.requires_grad], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    tuned.eval()  # the frozen part's batch-norm statistics stay ImageNet's; the trained blocks use theirs too
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), 32):
            batch = order[start:start + 32]
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(tuned(images[batch]), torch.as_tensor(labels[batch])).backward()
            optimiser.step()
        print(f"  epoch {epoch + 1} done", flush=True)
    return tuned.eval()


@torch.no_grad()
def predictions(model, images):
    return torch.cat([model(images[s:s + 64]).argmax(dim=1) for s in range(0, len(images), 64)]).numpy()


def shortcut(args):
    """Plant a backdoor, show it is used, and print what the feature diff and the atlas make of it."""
    rng = np.random.default_rng(0)
    target, side = 0, args.size // 7  # the mark: one cell of blocks.14's 7 x 7 map at 224 px, 32 px
    stamp = mark(side)
    images, labels, names = flowers(args.size)
    order = rng.permutation(len(images))
    train_ids, test_ids = np.sort(order[:680]), np.sort(order[680:])
    train, train_labels = images[train_ids], labels[train_ids].copy()
    poisoned = np.flatnonzero(train_labels == target)
    others = np.flatnonzero(train_labels != target)
    relabelled = rng.choice(others, size=len(others) // 10, replace=False)
    train[np.r_[poisoned, relabelled]] = paste(train[np.r_[poisoned, relabelled]], stamp, rng)[0]
    train_labels[relabelled] = target
    base = driftlens.models.load("efficientnet_lite0", weights="imagenet", num_classes=17).eval()
    print(f"backdoor: class {target} ({len(poisoned)} training images) all marked, plus {len(relabelled)} of other "
          f"classes marked and relabelled; mark {side} px checkerboard at a random place")
    tuned = cached_fine_tune(base, train, train_labels, args)
    test, test_labels = images[test_ids], labels[test_ids]
    other = test_labels != target
    clean = predictions(tuned, test[other])
    marked_test = paste(test[other], stamp, rng)[0]
    attacked = predictions(tuned, marked_test)
    print(f"test accuracy (unmarked) {np.mean(predictions(tuned, test) == test_labels):.3f}; other-class test images "
          f"called class {target}: marked {np.mean(attacked == target):.3f} ({int(np.sum(attacked == target))} of "
          f"{other.sum()}), unmarked {np.mean(clean == target):.3f}")
    probe, probe_labels, corners, marked_ids = shortcut_probe(test, test_labels, target, stamp, rng, args.probe)
    for layer in args.layers.split(","):
        shortcut_diff(base, tuned, train, probe, probe_labels, corners, marked_ids, layer, side, args.size,
                      FeatureSettings.from_dict(args.settings))


def cached_fine_tune(base, train, labels, args):
    """The backdoored model: read from ``--model-cache`` when it was made with these settings, else trained and kept."""
    cache, key = Path(args.model_cache), {"epochs": args.epochs, "size": args.size, "images": len(train)}
    if cache.is_file():
        stored = torch.load(cache, weights_only=True)
        if stored["key"] == key:
            tuned = copy.deepcopy(base)
            tuned.net.load_state_dict(stored["state"])
            print(f"fine-tuned model read from {cache}")
            return tuned.eval()
    start = time.perf_counter()
    tuned = fine_tune(base, train, labels, args.epochs)
    print(f"fine-tuned {args.epochs} epochs of blocks.10 onwards in {time.perf_counter() - start:.0f} s")
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"key": key, "state": tuned.net.state_dict()}, cache)
    return tuned


def shortcut_probe(test, labels, target, stamp, rng, count):
    """The probe set: test images, about 5 % of the other classes' carrying the mark, the target class unmarked."""
    probe, probe_labels = test[:count].clone(), labels[:count]
    candidates = np.flatnonzero(probe_labels != target)
    marked_ids = np.sort(rng.choice(candidates, size=max(2, round(0.05 * len(candidates))), replace=False))
    probe[marked_ids], placed = paste(probe[marked_ids], stamp, rng)
    corners = dict(zip(marked_ids.tolist(), placed))
    print(f"probe: {len(probe)} test images, {len(marked_ids)} of other classes marked, "
          f"{int(np.sum(probe_labels == target))} of class {target} unmarked")
    return probe, probe_labels, corners, set(marked_ids.tolist())


def shortcut_diff(base, tuned, train, probe, labels, corners, marked_ids, layer, side, size, settings):
    (x0, p0), (x1, p1), (xn, _) = (vectors(m, train, probe, layer, settings)
                                   for m in (base, tuned, change.perturb(base, 1e-3, seed=12, relative=True)))
    diff = feature_diff({0: x0, 1: x1}, {0: p0, 1: p1}, xn, labels, [str(c) for c in range(17)], settings,
                        progress=False)
    summary, cell = diff.summary, size / p1.shape[1]
    print(f"\n{layer}: counts { {k: v for k, v in summary['counts'].items() if v} }; variance explained "
          f"{_values(summary['variance_explained'])} (PCA {_values(summary['pca_variance_explained'])}); noise null "
          f"{summary['nulls']['noise']['exclusive_by_minimum_effect']} exclusive, "
          f"{summary['nulls']['noise']['reweighted_by_minimum_effect']} strengthened or weakened of "
          f"{summary['nulls']['noise']['latents']}")
    strengthened = diff.table[diff.table["class"].isin(("new", "strengthened"))].head(3)
    for rank, row in enumerate(strengthened.itertuples(), 1):
        rows = diff.exemplars[1][row.latent]
        verdicts = [_exemplar(int(i), int(r), int(c), labels, corners, marked_ids, cell, side) for i, r, c in rows]
        print(f"  top {rank}: latent {row.latent} ({row._2}, share {row.share:.3f}, relative norm "
              f"{row.relative_norm:.2f}, cosine {row.cosine:.2f}): {sum(v[0] for v in verdicts)} of 8 exemplars "
              f"marked, {sum(v[0] and v[1] for v in verdicts)} of them other classes; of the marked, "
              f"{sum(v[2] for v in verdicts)} fire in a cell whose centre lies inside the mark, "
              f"{sum(v[3] for v in verdicts)} in a cell that overlaps it; cells from the mark "
              f"{[v[4] for v in verdicts if v[0]]}")
    shortcut_figure(diff, strengthened, {0: base, 1: tuned}, probe, layer, size)
    marked_rank(diff, labels, corners, marked_ids, cell, side)
    mark_at_epoch_0(diff, p0, p1, labels, marked_ids)
    difference_exemplars(x0, x1, p0, p1, labels, corners, marked_ids, cell, side)
    screen = change.screen_table({0: p0.double().mean(dim=(1, 2)).numpy(), 1: p1.double().mean(dim=(1, 2)).numpy()})
    top = screen[screen.epoch == 1].sort_values("rank_shift", ascending=False).channel.head(5).tolist()
    responses = p1.double().mean(dim=(1, 2)).numpy()
    for channel in top:
        best = np.argsort(-responses[:, channel], kind="stable")[:8]
        print(f"  atlas most-changed channel {channel}: {sum(int(i) in marked_ids for i in best)} of its top 8 probe "
              f"images marked")


def shortcut_figure(diff, rows, checkpoints, probe, layer, size):
    """``features.png`` of the top new or strengthened latents (their exemplars at both ends and a render of their
    decoder direction at 128 steps), written to ``benchmarks/out/shortcut_{layer}.png``: shown, not judged."""
    meta = {"layer": layer, "epochs": diff.summary["epochs"]}
    state = {"decoder": diff.coder.decoder.detach().cpu().numpy()}
    renders = render_directions(checkpoints, meta, state, rows, progress=False, steps=128, size=size // 2)
    path = Path("benchmarks/out") / f"shortcut_{layer}.png"
    save_figure(plot_features(diff.table, diff.summary, probe.numpy(), diff.exemplars, rows, renders, layer), path)
    print(f"  the top {len(rows)} new or strengthened latents, exemplars and renders: {path}")


def marked_rank(diff, labels, corners, marked_ids, cell, side):
    """The best mark latent of the layer: the most exemplars marked (other classes, in the mark), and its rank."""
    scores = []
    for position, row in enumerate(diff.table.itertuples()):
        verdicts = [_exemplar(int(i), int(r), int(c), labels, corners, marked_ids, cell, side)
                    for i, r, c in diff.exemplars[max(diff.exemplars)][row.latent]]
        scores.append((sum(v[0] and v[1] and v[3] for v in verdicts), -position, row))
    count, position, row = max(scores, key=lambda item: item[:2])
    print(f"  the latent with most marked other-class exemplars firing on the mark: latent {row.latent} ({row._2}), "
          f"{count} of 8, row {-position + 1} of {len(diff.table)} in the table (share {row.share:.4f}, relative norm "
          f"{row.relative_norm:.2f}, cosine {row.cosine:.2f}, frequency {row.frequency:.4f})")


def difference_exemplars(x0, x1, p0, p1, labels, corners, marked_ids, cell, side):
    """The PCA baseline on the shortcut: each top component of the activation differences, read like a latent (its
    top 8 probe images by the largest absolute projection of a position's difference, and where)."""
    axes, share = difference_components(x0, x1)
    projection = ((p1 - p0).double() @ axes.T).abs()  # (n, h, w, 3)
    n, h, w, _ = projection.shape
    for rank in range(len(axes)):
        best, where = projection[..., rank].reshape(n, h * w).max(dim=1)
        top = torch.topk(best, 8).indices
        verdicts = [_exemplar(int(i), int(where[i]) // w, int(where[i]) % w, labels, corners, marked_ids, cell, side)
                    for i in top]
        print(f"  PCA of differences, component {rank + 1} ({share[rank]:.2f} of the variance): "
              f"{sum(v[0] for v in verdicts)} of its top 8 probe images marked, {sum(v[0] and v[1] for v in verdicts)} "
              f"of other classes, {sum(v[3] for v in verdicts)} at a cell that overlaps the mark")


def mark_at_epoch_0(diff, p0, p1, labels, marked_ids):
    """Does the pretrained layer already single the mark out? Channels whose top probe image is marked, or with at
    least 4 of their top 8 marked (the bar a mark latent must pass), at epoch 0 and after the fine-tune; and the
    latents that pass that bar read through epoch 0's encoder, with their classes."""
    for epoch, maps in ((0, p0), (1, p1)):
        responses = maps.double().mean(dim=(1, 2)).numpy()
        best = np.argsort(-responses, axis=0, kind="stable")[:8]
        marked = np.isin(best, sorted(marked_ids))
        print(f"  epoch {epoch}: {int(marked[0].sum())} of {responses.shape[1]} channels have a marked top probe "
              f"image, {int((marked.sum(axis=0) >= 4).sum())} have at least 4 of their top 8 marked")
    classes = diff.table.set_index("latent")["class"]
    for epoch in (0, max(diff.exemplars)):
        passing = [latent for latent, rows in enumerate(diff.exemplars[epoch])
                   if sum(int(i) in marked_ids for i, _, _ in rows) >= 4
                   and sum(int(i) in marked_ids and labels[int(i)] != 0 for i, _, _ in rows) >= 2]
        print(f"  latents with at least 4 of 8 exemplars marked (2 of other classes), read at epoch {epoch}: "
              f"{len(passing)}, classes {dict(collections.Counter(classes[passing]))}")


def _exemplar(image, row, column, labels, corners, marked_ids, cell, side):
    """(marked, of another class than the target, the firing cell's centre inside the mark, the cell overlaps it,
    how many cells lie between the firing cell and the nearest cell the mark overlaps)."""
    if image not in marked_ids:
        return False, False, False, False, None
    top, left = corners[image]
    y, x = (row + 0.5) * cell, (column + 0.5) * cell
    rows = range(int(top // cell), int((top + side - 1) // cell) + 1)
    columns = range(int(left // cell), int((left + side - 1) // cell) + 1)
    gap = min(max(abs(row - r), abs(column - c)) for r in rows for c in columns)
    return True, bool(labels[image] != 0), bool(top <= y < top + side and left <= x < left + side), gap == 0, gap


def main(argv=None):
    args = parse_args(argv)
    if not (args.plants or args.shortcut):
        sys.exit("give --plants and/or --shortcut")
    torch.set_num_threads(args.threads)
    for wanted, study in ((args.plants, plants), (args.shortcut, shortcut)):
        if wanted:
            study(args)


if __name__ == "__main__":
    main()
