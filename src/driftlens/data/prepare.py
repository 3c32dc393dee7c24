"""``prepare(dataset, root)``: get a dataset ready and write its split file."""

from pathlib import Path

from driftlens.errors import ConfigError

DATASETS = ("textures", "flowers17", "imagefolder")


def prepare(dataset: str, root, source=None, url=None, split_seed: int = 0, skip_corrupt: bool = False) -> Path:
    """Download or generate a dataset under ``root`` and write ``root/splits.json`` last.

    Args:
        dataset (str): ``textures`` (embedded, offline), ``flowers17`` or ``imagefolder``.
        root (str or Path): The dataset folder, e.g. ``resources/textures``.
        source (str or Path, optional): flowers17: a local folder with ``jpg/`` or a local archive;
            imagefolder: the class-per-folder image tree (default: ``root`` itself); not used by
            textures. Default: None
        url (str, optional): flowers17 only: archive URL instead of the official one. Default: None
        split_seed (int, optional): Seed of the split (see each dataset). Default: 0
        skip_corrupt (bool, optional): imagefolder only: skip unreadable images instead of failing.
            Default: False

    Returns:
        Path: ``root/splits.json``.

    Raises:
        ValueError: Unknown dataset, or an option the dataset does not take.

    Example:
        >>> import tempfile
        >>> prepare("textures", tempfile.mkdtemp()).name
        'splits.json'
    """
    if dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}; one of {', '.join(DATASETS)}")
    _refuse_unused(dataset, source=source, url=url, skip_corrupt=skip_corrupt)
    # each loader is imported when asked for: importing driftlens.data (for its torch-free folder module) loads none
    if dataset == "textures":
        from driftlens.data.textures import prepare_textures

        return prepare_textures(root, split_seed)
    if dataset == "flowers17":
        from driftlens.data.flowers17 import prepare_flowers17

        return prepare_flowers17(root, source, url, split_seed)
    from driftlens.data.imagefolder import prepare_imagefolder

    return prepare_imagefolder(root, source, split_seed, skip_corrupt)


_TAKES = {"textures": set(), "flowers17": {"source", "url"}, "imagefolder": {"source", "skip_corrupt"}}


def _refuse_unused(dataset: str, **options) -> None:
    unused = [name for name, value in options.items() if value and name not in _TAKES[dataset]]
    if unused:
        raise ConfigError(f"dataset {dataset!r} does not take {', '.join(unused)}")
