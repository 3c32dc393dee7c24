"""Oxford Flowers17 (Nilsback & Zisserman, 2006): 17 classes x 80 photographs.

Images ``jpg/image_0001.jpg`` ... ``image_1360.jpg``; the class of image N is ``(N - 1) // 80``. The
official ``datasplits.mat`` holds three train/val/test splits of 680/340/340 images; without it a
deterministic stratified split of the same sizes (40/20/20 per class) stands in.
"""

import logging
from pathlib import Path

import scipy.io

from driftlens.data.download import extract, fetch
from driftlens.data.splits import stratified_split, write_splits
from driftlens.errors import ArtifactError, DownloadError, MissingFileError

ARCHIVE_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz"
ARCHIVE_MD5 = "b59a65d8d1a99cd66944d474e1289eab"
DATASPLITS_MD5 = "4828cddfd0d803c5abbdebcb1e148a1e"
CLASSES = ["Daffodil", "Snowdrop", "LilyValley", "Bluebell", "Crocus", "Iris", "Tigerlily", "Tulip", "Fritillary",
           "Sunflower", "Daisy", "ColtsFoot", "Dandelion", "Cowslip", "Buttercup", "Windflower", "Pansy"]
IMAGES_PER_CLASS = 80
NUM_IMAGES = len(CLASSES) * IMAGES_PER_CLASS

log = logging.getLogger(__name__)


def prepare_flowers17(root, source=None, url=None, split_seed: int = 0) -> Path:
    """Get Flowers17 into ``root`` (or use a local copy) and write ``root/splits.json``.

    Without ``source``, ``17flowers.tgz`` is downloaded (MD5-checked) to ``root`` and unpacked to
    ``root/jpg`` (both skipped when ``root/jpg`` exists); ``datasplits.mat`` is fetched from the
    same folder of the server if reachable. ``source`` may be a folder holding ``jpg/`` (used in
    place, read-only; ``datasplits.mat`` is used if it lies there too) or a local archive (unpacked
    into ``root``, not checksummed).

    Args:
        root (str or Path): The dataset folder, e.g. ``resources/flowers17``.
        source (str or Path, optional): A local folder or archive instead of the download. Default: None
        url (str, optional): Archive URL instead of the official one. Default: None
        split_seed (int, optional): With ``datasplits.mat``: which official split, ``1 + split_seed % 3``;
            without: the seed of the stratified split. Default: 0

    Returns:
        Path: ``root/splits.json``.

    Raises:
        DownloadError: Offline or a failed/corrupt download; the message says where to put the file.
        FileNotFoundError: ``source`` does not exist or lacks some of the 1360 images.

    Example:
        >>> prepare_flowers17("resources/flowers17", source="../shared/data/flowers17")  # doctest: +SKIP
        PosixPath('resources/flowers17/splits.json')
    """
    root = Path(root)
    image_dir, datasplits = _obtain(root, source, url or ARCHIVE_URL)
    files = [image_dir / f"image_{n:04d}.jpg" for n in range(1, NUM_IMAGES + 1)]
    missing = [path for path in files if not path.is_file()]
    if missing:
        raise MissingFileError(f"{image_dir} lacks {len(missing)} of the {NUM_IMAGES} Flowers17 images, "
                                f"e.g. {missing[0].name}")
    labels = [index // IMAGES_PER_CLASS for index in range(NUM_IMAGES)]
    if datasplits is not None:
        parts = official_split(datasplits, split_seed)
    else:
        log.info("no datasplits.mat: stratified 40/20/20 split per class, seed %d", split_seed)
        parts = stratified_split(labels, seed=split_seed)
    items = {split: [(files[i], labels[i]) for i in indices] for split, indices in parts.items()}
    return write_splits(root, "flowers17", CLASSES, items)


def download(root, url=None) -> list[Path]:
    """Download ``17flowers.tgz`` (MD5-checked) into ``root``, and ``datasplits.mat`` if its server has it.

    What :func:`prepare_flowers17` then unpacks without a network; ``driftlens fetch`` calls this
    on a machine with internet ahead of an offline run.

    Args:
        root (str or Path): The dataset folder, e.g. ``resources/flowers17``.
        url (str, optional): Archive URL instead of the official one. Default: None

    Returns:
        list[Path]: The archive, then ``datasplits.mat`` if it was available.

    Raises:
        DownloadError: Offline or a failed/corrupt download of the archive.

    Example:
        >>> download("resources/flowers17")  # doctest: +SKIP
        [PosixPath('resources/flowers17/17flowers.tgz'), PosixPath('resources/flowers17/datasplits.mat')]
    """
    root, url = Path(root), url or ARCHIVE_URL
    archive = _fetch_archive(root, url)
    splits = _try_fetch_datasplits(_datasplits_url(url), root)
    return [archive] + ([splits] if splits else [])


def official_split(datasplits, split_seed: int = 0) -> dict[str, list[int]]:
    """Image indices (0-based) of one of the three official splits in ``datasplits.mat``.

    Args:
        datasplits (str or Path): The official ``datasplits.mat``.
        split_seed (int, optional): Picks split ``1 + split_seed % 3``. Default: 0

    Returns:
        dict[str, list[int]]: ``{"train": [...], "val": [...], "test": [...]}``, sorted.

    Raises:
        ValueError: The file lacks the split's ``trn``/``val``/``tst`` arrays.

    Example:
        >>> len(official_split("resources/flowers17/datasplits.mat")["train"])  # doctest: +SKIP
        680
    """
    number = 1 + split_seed % 3
    mat = scipy.io.loadmat(datasplits)
    keys = {"train": f"trn{number}", "val": f"val{number}", "test": f"tst{number}"}
    if not all(key in mat for key in keys.values()):
        raise ArtifactError(f"{datasplits} lacks {', '.join(keys.values())}; is it Flowers17's datasplits.mat?")
    return {split: sorted(int(n) - 1 for n in mat[key].ravel()) for split, key in keys.items()}


def _obtain(root: Path, source, url: str) -> tuple[Path, Path | None]:
    if source is None:
        image_dir = root / "jpg"
        if not image_dir.is_dir():  # unpacked folders appear in one rename, so an existing one is complete
            extract(_fetch_archive(root, url), root, "jpg")
        return image_dir, _try_fetch_datasplits(_datasplits_url(url), root)
    source = Path(source)
    if source.is_dir():
        if not (source / "jpg").is_dir():
            raise MissingFileError(f"Flowers17 source folder {source} has no jpg/ folder")
        return source / "jpg", _if_file(source / "datasplits.mat")
    if source.is_file():
        return extract(source, root, "jpg"), _if_file(source.parent / "datasplits.mat")
    raise MissingFileError(f"Flowers17 source {source} does not exist")


def _fetch_archive(root: Path, url: str) -> Path:
    return fetch(url, root / "17flowers.tgz", ARCHIVE_MD5)


def _datasplits_url(archive_url: str) -> str:
    return archive_url.rsplit("/", 1)[0] + "/datasplits.mat"


def _try_fetch_datasplits(url: str, root: Path) -> Path | None:
    try:
        return fetch(url, root / "datasplits.mat", DATASPLITS_MD5)
    except DownloadError as err:
        log.warning("official splits unavailable, a stratified split stands in: %s", str(err).splitlines()[0])
        return None


def _if_file(path: Path) -> Path | None:
    return path if path.is_file() else None
