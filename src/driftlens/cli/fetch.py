"""``driftlens fetch EXPERIMENT``: download what an experiment needs, ahead of a run on offline nodes.

Everything goes where the workflow's jobs read it: the data set's archive to ``resources/{dataset}/``
(MD5-checked), torchvision weights (and LPIPS's AlexNet trunk, when the ``lpips`` package is
installed) to torch's hub cache (``$TORCH_HOME``, SHA-256-checked), timm weights to the Hugging Face
cache (``$HF_HOME``). Run it on a machine with internet that shares these folders with the nodes.

Example:
    driftlens fetch flowers17
"""

import importlib.util
import itertools
import time
from functools import partial
from pathlib import Path

from torchvision.datasets.utils import calculate_md5

from driftlens import models
from driftlens.change.pixels import lpips_backbone_url
from driftlens.data import flowers17
from driftlens.errors import ConfigError
from driftlens.schemas import config_defaults
from driftlens.schemas.workflow import WORKFLOW_SCHEMA, read_workflow_config
from driftlens.models.weights import download_file, sha256_of


def add_parser(subparsers):
    parser = subparsers.add_parser("fetch")
    parser.add_argument("experiment", help="a key of `experiments` in the config")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"), help="default: config.yaml")
    parser.add_argument("--schema", type=Path, default=Path(WORKFLOW_SCHEMA),
                        help=f"the workflow's config schema (default: {WORKFLOW_SCHEMA})")
    parser.add_argument("--resources", type=Path, default=Path("resources"),
                        help="where data sets are prepared (default: resources)")
    parser.add_argument("--mirror", help="take every file, under its own name, from this folder URL instead of "
                                         "its official address (not for timm weights)")
    parser.set_defaults(func=run)


def run(args):
    experiment, datasets = _experiment(args.config, args.schema, args.experiment)
    print(f"experiment {args.experiment} of {args.config}:", flush=True)
    for what, path, note in itertools.chain(_dataset_files(experiment, datasets, args.resources, args.mirror),
                                            _weights_files(experiment, args.mirror)):
        print(f"  {what}: {path or 'nothing to fetch'}\n      {note}", flush=True)


def _experiment(config_path: Path, schema: Path, name: str) -> tuple[dict, dict]:
    config = read_workflow_config(config_path, schema)
    if name not in config["experiments"]:
        raise ConfigError(f"experiments.{name}: no such experiment in {config_path} "
                          f"(it has {', '.join(config['experiments']) or 'none'})")
    return config["experiments"][name], config["datasets"]


def _dataset_files(experiment: dict, datasets: dict, resources: Path, mirror):
    name = experiment.get("dataset")
    if name is None:
        yield "probe images", Path(experiment["probe"]), "a local folder (probe)"
        return
    kind, source = datasets[name]["kind"], datasets[name]["source"]
    if source:
        yield f"data set {name}", Path(source), f"a local copy (datasets.{name}.source)"
    elif kind == "flowers17":
        url = f"{mirror.rstrip('/')}/{flowers17.ARCHIVE_URL.rsplit('/', 1)[1]}" if mirror else None
        start = time.time_ns()
        for path in flowers17.download(resources / name, url):
            yield f"data set {name}: {path.name}", path, _status(path, start, f"MD5 {calculate_md5(path)}")
    else:
        yield f"data set {name}", None, f"kind {kind}: embedded or local"


def _weights_files(experiment: dict, mirror):
    name, weights = experiment["model"], {**config_defaults(), **experiment}["weights"]
    spec = models.registry.spec_for(name)
    if weights != "imagenet":
        yield f"model {name}", None, f"weights: {weights}"
    elif spec.download is None:
        yield f"model {name}", None, "ImageNet weights ship in an installed package (or there are none)"
    else:
        yield _weights(f"model {name}: ImageNet weights", spec.download, mirror)
    if importlib.util.find_spec("lpips") is None:
        yield "perceptual distance", None, "no lpips package: the offline Lite0 feature distance will be used"
    else:
        yield _weights("perceptual distance: LPIPS trunk", partial(download_file, lpips_backbone_url()), mirror)


def _weights(what: str, download, mirror):
    start = time.time_ns()
    path = download(mirror)
    return what, path, _status(path, start, f"SHA-256 {sha256_of(path)}" if path.is_file() else "")


FILE_CLOCK_SLACK_NS = 20_000_000
"""File times come from the kernel's coarse clock (one tick, a few ms, behind ``time.time_ns``): a file written
right after ``start`` can carry an earlier time. 20 ms covers a tick at any usual kernel rate."""


def _status(path: Path, start: int, checksum: str) -> str:
    # Downloads are moved into place when complete, so a file written since ``start`` was fetched now.
    new = path.exists() and path.stat().st_mtime_ns >= start - FILE_CLOCK_SLACK_NS
    size = f"{path.stat().st_size / 1e6:.1f} MB" if path.is_file() else ""
    return ", ".join(part for part in ("downloaded" if new else "already there", size, checksum) if part)
