"""The ``driftlens`` command line: each sub-command lives in a module of this package.

A module defines ``add_parser(subparsers)``, which registers its sub-command(s) and sets ``func``
to the function that runs it. Only the module of the command being run is imported, so a command
starts without loading what the others need.

Example:
    >>> main(["layers", "tiny"])  # doctest: +SKIP
"""

import argparse
import ctypes
import gc
import importlib
import os
import sys
import time

from driftlens.errors import USER_ERRORS, ConfigError

USER_COMMANDS = {
    "layers": ("layers", "list a model's layers and their output shapes"),
    "render": ("render", "visualise channels of layers as a labelled grid (rows = layers)"),
    "attribute": ("attribute", "attribution maps of images, overlaid, as one PNG grid"),
    "dream": ("dream", "DeepDream an image at one layer"),
    "style": ("style", "neural style transfer (Gatys et al.) of one image"),
    "accentuate": ("accentuate", "accentuate a channel in images (feature accentuation)"),
    "spectrum": ("spectrum", "estimate the Fourier magnitude of a data set's images (for maco)"),
    "fetch": ("fetch", "download an experiment's data set and weights for offline runs"),
    "compare": ("compare", "which channels changed between checkpoints trained anywhere (timm, Lightning, plain): "
                           "the change screen of every channel of some layers"),
}
"""The commands for people, by sub-command name: the module (in this package) that implements each, and the
line that ``driftlens --help`` lists it with (the listing imports no command module)."""

WORKFLOW_STEPS = {
    "prepare-data": ("prepare_data", "get a dataset ready and write root/splits.json"),
    "probe": ("probe", "write a fixed probe set of validation images, or of a folder's images (.npz)"),
    "import-checkpoint": ("import_checkpoint", "one checkpoint of a run trained elsewhere as a driftlens checkpoint, "
                                               "evaluated on the probe images when labelled"),
    "train-epoch": ("train", "train one epoch (epoch 0: build and evaluate the start model)"),
    "select-channels": ("channels", "resolve a channel list, top_k:K or most_changed:K,least_changed:M for a layer"),
    "render-checkpoint": ("render_checkpoint", "render all layers and seeds of a checkpoint"),
    "representation": ("representation", "probe responses of every channel, linear CKA to epoch 0 and weight change of a "
                                  "checkpoint"),
    "screen": ("screen", "render-free change screen of every channel of a layer: effect sizes, bootstrap noise "
                         "references, q-values and verdicts"),
    "change": ("change", "per-channel change table of a layer's rendered channels: render evidence with seed-noise "
                         "references, combined with the screen"),
    "exemplars": ("exemplars", "top probe images per channel at two epochs"),
    "feature-activations": ("features", "activation vectors of every feature checkpoint (and of epoch 0's noise "
                                        "copy) at training positions and on the probe set, for the feature diff"),
    "features": ("features", "the feature diff of a layer: a crosscoder over its checkpoints, every latent classed as "
                             "new, lost, strengthened, weakened, rotated, ..., with nulls (features.csv, "
                             "features.png)"),
    "grid": ("grid", "tile render rows (.npz) into a labelled grid"),
    "plot-change": ("plots", "per-layer change against epochs, with seed-noise references and validation accuracy "
                             "(change.png)"),
    "plot-training": ("plots", "training and validation loss and accuracy against epochs (training.png)"),
    "plot-depth": ("plots", "the change atlas: fraction of channels changed and effect sizes per layer, with CKA and "
                            "weight change (depth.png)"),
    "attribution-maps": ("attribution_maps", "attribution maps of a probe set for one checkpoint (.npz)"),
    "attribution-grid": ("attribution_figures", "overlays of one method: rows = epochs, columns = images"),
    "attribution-drift": ("attribution_figures", "rank correlation of every epoch's maps to a reference epoch's"),
    "report": ("report", "build an experiment's self-contained report.html"),
}
"""The steps the workflow's rules run, by sub-command name: the module that implements each, and its line."""

COMMANDS = {**USER_COMMANDS, **WORKFLOW_STEPS}

MOVED_COMMANDS = {
    "plot-features": "`driftlens features ... --figure features.png --checkpoints PT ...` draws features.png now",
}
"""Commands that are gone, with what does their work now: calling one says so instead of failing to parse."""
"""Every sub-command name: its module (in this package) and its one-line help."""


def build_parser(command=None) -> argparse.ArgumentParser:
    """The parser with ``command``'s module registered; otherwise every command by name and line, no module imported.

    Example:
        >>> build_parser("layers").prog
        'driftlens'
    """
    parser = argparse.ArgumentParser(prog="driftlens", description="How a network's features change while it is "
                                     "fine-tuned: feature visualisation, attribution and per-channel change.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of every error, not only of unexpected ones")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       help="one of the commands or workflow steps below")
    if command in COMMANDS:
        module, line = COMMANDS[command]
        importlib.import_module(f"{__name__}.{module}").add_parser(subparsers)
        subparsers.choices[command].description = line
    else:  # the full list, in two groups, without importing any command's module
        for name in COMMANDS:
            subparsers.add_parser(name)
        parser.epilog = "\n\n".join(_command_list(title, names) for title, names in (
            ("commands", USER_COMMANDS), ("workflow steps (run by the Snakemake rules)", WORKFLOW_STEPS)))
    for subparser in subparsers.choices.values():
        subparser.add_argument("--threads", type=int, default=None,
                               help="CPU threads for torch (default: torch's, one per core this process may use)")
    return parser


def _command_list(title: str, names) -> str:
    width = max(map(len, COMMANDS)) + 2
    return "\n".join([f"{title}:", *(f"  {name:<{width}}{COMMANDS[name][1]}" for name in names)])


def limit_threads(threads: int | None) -> None:
    """Give torch exactly ``threads`` intra-op threads and one inter-op thread; None leaves torch's default.

    torch's default is one thread per core this process may use (its CPU affinity, which SLURM sets).
    The environment variables cover libraries that read them when loaded; torch's own setting is made
    when the command's module has imported torch. A note goes to standard error (the rule's log).

    Example:
        >>> limit_threads(None)
    """
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process (e.g. a second main() call in tests)
            pass
        print(f"driftlens: torch uses {torch.get_num_threads()} thread(s), "
              f"{torch.get_num_interop_threads()} inter-op", file=sys.stderr)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""glibc's ``mallopt`` parameter numbers (``malloc.h``)."""

KEPT_BLOCK_BYTES = 2**30
"""Blocks up to this size come from (and return to) the process's own heap; see :func:`keep_freed_memory`."""


def keep_freed_memory() -> bool:
    """Let glibc's ``malloc`` keep freed memory for the next allocation instead of handing it back to the system.

    glibc serves each block above its mmap threshold (32 MiB at most) with a fresh ``mmap`` and unmaps
    it when freed, so every batch's activations fault their pages in again: an EfficientNet-Lite0
    pass over 256 probe images at 224 px on one thread spent 16 s of its 28 s in the kernel. With
    both thresholds at :data:`KEPT_BLOCK_BYTES` it took 13 s (1.3 s in the kernel) and 7 % more peak
    memory; a Lite0 render job ran 12 % faster. A no-op where the C library is not glibc.

    Returns:
        bool: Whether the setting was made.

    Example:
        >>> keep_freed_memory()  # in a job's process, on Linux  # doctest: +SKIP
        True
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)  # the C library this process runs with
    if not hasattr(libc, "gnu_get_libc_version"):  # musl, for one
        return False
    return all(libc.mallopt(parameter, KEPT_BLOCK_BYTES) == 1 for parameter in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD))


def usage_line(command: str, start: float) -> str:
    """The line a workflow step ends its log with: wall seconds since ``start`` and the CPU seconds of the process.

    The CPU time counts every thread and child process from the interpreter's start, imports included
    (Snakemake's own benchmark samples it only now and then, so it misses most of a long job's time);
    ``benchmarks/bench_pipeline.py`` reads it from the rules' logs.

    Example:
        >>> usage_line("grid", time.perf_counter()).startswith("driftlens: grid done in 0.0 s (")
        True
    """
    times = os.times()
    cpu = times.user + times.system + times.children_user + times.children_system
    return f"driftlens: {command} done in {time.perf_counter() - start:.1f} s ({cpu:.1f} s CPU)"


def main(argv=None) -> int:
    """Run the command line; bad input ends with ``driftlens: error: ...`` and exit status 2.

    Only driftlens's own errors (:mod:`driftlens.errors`) are reported in one line; anything else
    is a bug and shows its traceback. ``driftlens --debug ...`` shows the traceback of every error.

    Example:
        >>> main(["layers", "tiny"])  # doctest: +SKIP
    """
    start = time.perf_counter()
    whole_process = argv is None
    argv = sys.argv[1:] if whole_process else list(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command in MOVED_COMMANDS:
        print(f"driftlens: error: `driftlens {command}` is gone: {MOVED_COMMANDS[command]}", file=sys.stderr)
        return 2
    args = build_parser(command).parse_args(argv)
    if whole_process:  # a caller's main(argv) keeps its own collector and allocator settings
        gc.freeze()  # torch's ~2*10^5 imported objects: no collection scans them again, nor the exit's (-0.5 s a job)
        keep_freed_memory()
    try:
        limit_threads(args.threads)
        status = args.func(args) or 0
        if command in WORKFLOW_STEPS:
            print(usage_line(command, start), file=sys.stderr)
        return status
    except USER_ERRORS as err:
        if args.debug:
            raise
        print(f"driftlens: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `driftlens layers googlenet | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
