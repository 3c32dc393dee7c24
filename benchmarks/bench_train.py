"""Staged fine-tuning: accuracy on Flowers17, and the training loop's speed against a bare PyTorch loop.

``throughput``: images/s of driftlens's training pass (``driftlens.train.run_epoch``, the part of
``train_epoch`` that its ``images_per_s`` figure times) against a bare loop (forward, loss, backward,
step) on the same model, batch size, DataLoader, data order and frozen prefix, alternated in one run
(which goes first swaps every round). Wall-clock and CPU-time rates are both printed: on a shared
machine the CPU-time ratio is the steadier one. Target: ratio >= 0.9.

``flowers17``: EfficientNet-Lite0 (ImageNet) on the Flowers17 copy in ../shared at 224 px, a two-stage
schedule of 10 epochs (3 epochs head only with SGD at 0.01, then 7 epochs from ``blocks.10`` with Adam
at ``--top-lr``), each epoch run through ``train_epoch`` exactly as the workflow does. Prints every
epoch's metrics as it goes; a killed run resumes from its last epoch. Target: test accuracy >= 90 %.

``layout``: images/s of a training step (head only, and from ``blocks.10``) and of an evaluation pass
of EfficientNet-Lite0 on random 224 px images, in the default memory layout against channels-last (what
``driftlens.train.place`` uses), alternated in one run.

Other jobs may share the CPU: compare ratios within one run, not seconds across runs. The load
average is printed with the figures.

Usage:
    .venv/bin/python benchmarks/bench_train.py throughput [--image-size 128] [--repeats 3]
    .venv/bin/python benchmarks/bench_train.py layout [--repeats 3]
    .venv/bin/python benchmarks/bench_train.py flowers17 [--out benchmarks/out/flowers17] [--top-lr 1e-4]
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from driftlens import data, models
from driftlens.train import (Stage, TrainConfig, apply_stage, make_optimizer, run_epoch, seed_epoch, start_checkpoint,
                             train_epoch)

REPO = Path(__file__).resolve().parents[1]
SHARED_FLOWERS = REPO.parent / "shared" / "data" / "flowers17"
OUT = REPO / "benchmarks" / "out"


def bare_loop(model, loader, optimizer) -> None:
    """A plain training loop: forward, loss, backward, step."""
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def driftlens_loop(model, loader, optimizer) -> None:
    """driftlens's training pass (what ``train_epoch`` times for its ``images_per_s``)."""
    run_epoch(model, loader, optimizer, progress=False)


def timed_epoch(loop, checkpoint, splits, cfg, epoch) -> tuple[float, float]:
    """Wall-clock and CPU images/s of one epoch of ``loop`` from ``checkpoint`` under the first stage."""
    model = models.load(cfg.model, weights=str(checkpoint))
    optimizer = make_optimizer(apply_stage(model, cfg.stages[0]), cfg.stages[0])
    dataset = data.SplitDataset(splits, "train", cfg.image_size, augment=True)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, generator=seed_epoch(cfg.seed, epoch))
    wall, cpu = time.perf_counter(), time.process_time()
    loop(model, loader, optimizer)
    return len(dataset) / (time.perf_counter() - wall), len(dataset) / (time.process_time() - cpu)


def throughput(args):
    folder = OUT / "throughput"
    splits = data.prepare("textures", folder / "textures")
    cfg = TrainConfig.from_dict({
        "model": "efficientnet_lite0", "weights": "imagenet", "splits": str(splits), "image_size": args.image_size,
        "batch_size": args.batch_size, "stages": [{"epochs": 1, "cutoff": args.cutoff, "lr": 0.01}]})
    start_checkpoint(cfg, folder / "epoch_000.pt", folder / "epoch_000.json", progress=False)
    rates = {"bare": [], "driftlens": []}
    loops = {"bare": bare_loop, "driftlens": driftlens_loop}
    for round_ in range(args.repeats):
        order = ["bare", "driftlens"] if round_ % 2 == 0 else ["driftlens", "bare"]
        for name in order:
            rates[name].append(timed_epoch(loops[name], folder / "epoch_000.pt", splits, cfg, round_ + 1))
        figures = [f"{name} {rates[name][-1][0]:.2f} img/s (CPU {rates[name][-1][1]:.2f})" for name in order]
        print(f"round {round_ + 1}: {', '.join(figures)}", flush=True)
    print(f"\nEfficientNet-Lite0, {args.image_size} px, batch {args.batch_size}, cutoff {args.cutoff}, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")
    for clock, index in (("wall-clock", 0), ("CPU-time", 1)):
        bare = [rate[index] for rate in rates["bare"]]
        ours = [rate[index] for rate in rates["driftlens"]]
        ratios = ", ".join(f"{o / b:.2f}" for o, b in zip(ours, bare))
        ratio = statistics.median(ours) / statistics.median(bare)
        print(f"{clock:>10}: bare median {statistics.median(bare):.2f} img/s, driftlens median "
              f"{statistics.median(ours):.2f} img/s, ratio of medians {ratio:.2f} (per round {ratios}; target >= 0.9)")


def layout_rate(memory_format, train_from, images, labels) -> float:
    """Images/s of two training steps (``train_from`` a layer) or evaluations (None) in ``memory_format``."""
    model = models.load("efficientnet_lite0", weights="imagenet")
    model.replace_head(int(labels.max()) + 1)
    stage = Stage(epochs=1, lr=1e-4, optimizer="adam", train_from=train_from or "logits")
    optimizer = make_optimizer(apply_stage(model, stage), stage) if train_from else None
    model.to(memory_format=memory_format)
    run_epoch(model, [(images, labels)], optimizer, progress=False)  # warm-up
    timed = run_epoch(model, [(images, labels)] * 2, optimizer, progress=False)
    return timed["images"] / timed["seconds"]


def layout(args):
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch_size, 3, 224, 224, generator=generator)
    labels = torch.randint(0, 17, (args.batch_size,), generator=generator)
    formats = {"default": torch.contiguous_format, "channels-last": torch.channels_last}
    print(f"EfficientNet-Lite0, 224 px, batch {args.batch_size}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    for task, train_from in (("train head", "logits"), ("train from blocks.10", "blocks.10"), ("evaluate", None)):
        rates = {name: [] for name in formats}
        for round_ in range(args.repeats):
            for name in (list(formats) if round_ % 2 == 0 else list(formats)[::-1]):
                rates[name].append(layout_rate(formats[name], train_from, images, labels))
        medians = {name: statistics.median(values) for name, values in rates.items()}
        print(f"{task:>21}: default {medians['default']:.1f} img/s, channels-last {medians['channels-last']:.1f} "
              f"img/s, ratio {medians['channels-last'] / medians['default']:.2f}", flush=True)


def flowers17(args):
    if not (SHARED_FLOWERS / "jpg").is_dir():
        raise SystemExit(f"the shared Flowers17 copy is not at {SHARED_FLOWERS}")
    folder = Path(args.out)
    splits = data.prepare("flowers17", folder / "data", source=SHARED_FLOWERS)
    cfg = TrainConfig.from_dict({
        "model": "efficientnet_lite0", "weights": "imagenet", "splits": str(splits), "image_size": 224,
        "batch_size": 32, "augment": True, "seed": 0, "stages": [
            {"epochs": 3, "train_from": "logits", "lr": 0.01, "optimizer": "sgd", "momentum": 0.9},
            {"epochs": 7, "train_from": "blocks.10", "lr": args.top_lr, "optimizer": "adam"}]})
    for epoch in range(cfg.total_epochs + 1):
        checkpoint, metrics = folder / f"epoch_{epoch:03d}.pt", folder / f"epoch_{epoch:03d}.json"
        if not metrics.is_file():  # resumes where an interrupted run stopped
            if epoch == 0:
                start_checkpoint(cfg, checkpoint, metrics, progress=False)
            else:
                train_epoch(cfg, folder / f"epoch_{epoch - 1:03d}.pt", checkpoint, metrics, epoch, progress=False)
        m = json.loads(metrics.read_text())
        print(f"epoch {epoch:2d} stage {m['stage']}: train acc {m['train_acc'] or 0:.3f}, val acc {m['val_acc']:.3f}, "
              f"test acc {m['test_acc']:.3f}, {m['seconds']:.0f} s, {m['images_per_s'] or 0:.1f} img/s, "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"\nFlowers17 test accuracy after {cfg.total_epochs} epochs: {m['test_acc']:.3f} (target >= 0.90)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    speed = sub.add_parser("throughput", help="driftlens epoch vs a bare PyTorch loop")
    speed.add_argument("--image-size", type=int, default=128)
    speed.add_argument("--batch-size", type=int, default=32)
    speed.add_argument("--cutoff", type=int, default=20)
    speed.add_argument("--repeats", type=int, default=4)
    speed.set_defaults(func=throughput)
    formats = sub.add_parser("layout", help="default vs channels-last memory layout, training and evaluation")
    formats.add_argument("--batch-size", type=int, default=32)
    formats.add_argument("--repeats", type=int, default=3)
    formats.set_defaults(func=layout)
    accuracy = sub.add_parser("flowers17", help="test accuracy after 10 epochs of a two-stage schedule")
    accuracy.add_argument("--out", default=str(OUT / "flowers17"))
    accuracy.add_argument("--top-lr", type=float, default=1e-4, help="Adam learning rate of the second stage")
    accuracy.set_defaults(func=flowers17)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
