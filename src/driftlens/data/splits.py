"""The split file ``splits.json``: which image belongs to which class and to which split.

Format::

    {"dataset": "textures", "classes": ["brick", ...],
     "train": [["brick/train_000.png", 0], ...], "val": [...], "test": [...]}

Paths are relative to the split file's folder, or absolute when they point into a read-only
source folder.
"""

import json
from pathlib import Path

import numpy as np

from driftlens.errors import ArtifactError, ConfigError, MissingFileError
from driftlens.io import save_json

SPLITS = ("train", "val", "test")
SPLITS_FILE = "splits.json"


def stratified_split(labels, fractions=(0.5, 0.25, 0.25), seed: int = 0) -> dict[str, list[int]]:
    """Split item indices into train/val/test with the same class proportions in each.

    Within each class the items are shuffled with a generator seeded from ``seed``; the first
    ``round(fractions[0] * n)`` go to train, the next ``round(fractions[1] * n)`` to val, the rest to
    test. Each list is returned in ascending index order.

    Args:
        labels (sequence of int): The class of every item.
        fractions (tuple[float, float, float], optional): Train and val shares (test gets the rest).
            Default: (0.5, 0.25, 0.25)
        seed (int, optional): Shuffling seed. Default: 0

    Returns:
        dict[str, list[int]]: ``{"train": [...], "val": [...], "test": [...]}``, indices into ``labels``.

    Raises:
        ConfigError: A class is too small to put at least one item in every split.

    Example:
        >>> parts = stratified_split([0] * 8 + [1] * 4)
        >>> [len(parts[s]) for s in ("train", "val", "test")]
        [6, 3, 3]
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = {split: [] for split in SPLITS}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_train = round(fractions[0] * len(members))
        n_val = round(fractions[1] * len(members))
        if min(n_train, n_val, len(members) - n_train - n_val) < 1:
            raise ConfigError(f"class {label} has only {len(members)} items: too few for a train/val/test split")
        parts["train"] += members[:n_train].tolist()
        parts["val"] += members[n_train:n_train + n_val].tolist()
        parts["test"] += members[n_train + n_val:].tolist()
    return {split: sorted(indices) for split, indices in parts.items()}


def write_splits(root, dataset: str, classes: list[str], items: dict[str, list[tuple]]) -> Path:
    """Write ``root/splits.json`` atomically (the last step of preparing a dataset).

    Args:
        root (str or Path): The dataset folder.
        dataset (str): The dataset's name.
        classes (list[str]): Class names; labels index into it.
        items (dict[str, list[tuple]]): Per split, ``(path, label)`` pairs (paths absolute or relative
            to the working directory); those inside ``root`` are stored relative to it, others absolute.

    Returns:
        Path: The split file.

    Raises:
        ConfigError: Fewer than two classes, or a split without an example of some class (a
            classifier cannot learn, or be judged on, a class it never sees).

    Example:
        >>> import tempfile
        >>> items = {split: [(f"{split}_a.png", 0), (f"{split}_b.png", 1)] for split in SPLITS}
        >>> write_splits(tempfile.mkdtemp(), "toy", ["a", "b"], items).name
        'splits.json'
    """
    check_classes(f"{dataset} in {root}", classes, items)
    root = Path(root).resolve()
    record = {"dataset": dataset, "classes": list(classes)}
    for split in SPLITS:
        record[split] = [[_relative_if_inside(Path(path), root), int(label)] for path, label in items[split]]
    target = root / SPLITS_FILE
    save_json(record, target)
    return target


def check_classes(dataset: str, classes: list[str], items: dict[str, list[tuple]]) -> None:
    """Require at least two classes and an example of every class in every split.

    Raises:
        ConfigError: The message names the data set, and the split and class that lack examples.

    Example:
        >>> check_classes("toy", ["cat"], {"train": [("a.png", 0)], "val": [("b.png", 0)], "test": [("c.png", 0)]})
        Traceback (most recent call last):
            ...
        driftlens.errors.ConfigError: data set toy has 1 class (cat): fine-tuning a classifier needs at least two
    """
    if len(classes) < 2:
        raise ConfigError(f"data set {dataset} has {len(classes)} class{'es' if len(classes) != 1 else ''} "
                          f"({', '.join(classes) or 'none'}): fine-tuning a classifier needs at least two")
    for split in SPLITS:
        present = {int(label) for _, label in items[split]}
        missing = [name for label, name in enumerate(classes) if label not in present]
        if missing:
            raise ConfigError(f"the {split} split of data set {dataset} has no example of class "
                              f"{', '.join(map(repr, missing))}: every class needs images in train, val and test")


def read_splits(path) -> dict:
    """Read and check a split file.

    Args:
        path (str or Path): ``splits.json``.

    Returns:
        dict: As written by :func:`write_splits`, with every path made absolute.

    Raises:
        MissingFileError: No such file (the message says how to make one).
        ArtifactError: Not valid JSON.
        ConfigError: A key is missing or a label is out of range.

    Example:
        >>> import tempfile
        >>> items = {split: [(f"{split}_a.png", 0), (f"{split}_b.png", 1)] for split in SPLITS}
        >>> path = write_splits(tempfile.mkdtemp(), "toy", ["a", "b"], items)
        >>> read_splits(path)["train"][0][0].endswith("train_a.png")
        True
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"split file {path} does not exist; make it with `driftlens prepare-data`")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ArtifactError(f"split file {path} is not valid JSON ({err}); make it again with "
                            f"`driftlens prepare-data`") from err
    for key in ("dataset", "classes", *SPLITS):
        if key not in record:
            raise ConfigError(f"split file {path} has no {key!r} entry")
    for split in SPLITS:
        for item, label in record[split]:
            if not 0 <= label < len(record["classes"]):
                raise ConfigError(f"split file {path}: label {label} of {item} is not a class index")
        record[split] = [[str(path.parent / item), label] for item, label in record[split]]
    return record


def _relative_if_inside(path: Path, root: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
