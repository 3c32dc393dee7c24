"""Downloading and unpacking archives: checksummed, restartable, never a partial file under the final name."""

import os
import shutil
import tempfile
from pathlib import Path

from torchvision.datasets.utils import calculate_md5, check_integrity, download_url, extract_archive

from driftlens.errors import DownloadError


def fetch(url: str, target, md5: str) -> Path:
    """Download ``url`` to ``target`` unless a file with the right MD5 is already there.

    The transfer goes to ``target.part`` (through torchvision's ``download_url``) and is renamed to
    ``target`` only after its MD5 matched, so an interrupted or corrupt transfer never leaves a file
    under the final name. A complete ``.part`` left by a killed run is used as is; any other is
    downloaded again from the start.

    Args:
        url (str): Where to download from.
        target (str or Path): The final file.
        md5 (str): Expected MD5 hex digest.

    Returns:
        Path: ``target``.

    Raises:
        DownloadError: Offline, a failed transfer, or a checksum mismatch (truncated or altered file).

    Example:
        >>> fetch("https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz",
        ...       "resources/flowers17/17flowers.tgz", "b59a65d8d1a99cd66944d474e1289eab")  # doctest: +SKIP
        PosixPath('resources/flowers17/17flowers.tgz')
    """
    target = Path(target)
    if check_integrity(target, md5):
        return target
    part = target.with_name(target.name + ".part")
    try:
        download_url(url, target.parent, part.name, md5=md5)
    except OSError as err:  # URLError and connection resets are OSErrors
        part.unlink(missing_ok=True)
        raise DownloadError(f"could not download {url} ({type(err).__name__}: {err}).\n"
                            f"{_by_hand(url, target)}") from err
    except RuntimeError as err:  # torchvision's "File not found or corrupted."
        actual = calculate_md5(part) if part.is_file() else "of no file"
        part.unlink(missing_ok=True)
        raise DownloadError(f"checksum mismatch for {url}: MD5 {actual}, expected {md5} "
                            f"(the transfer was truncated or the file differs).\n{_by_hand(url, target)}") from err
    os.replace(part, target)
    return target


def extract(archive, folder, member: str) -> Path:
    """Unpack ``archive`` and move its top-level folder ``member`` to ``folder/member`` in one rename.

    Unpacking happens in a temporary folder beside the destination, so an interrupted run never
    leaves a half-filled ``folder/member``. If ``folder/member`` already exists it is kept.

    Args:
        archive (str or Path): A ``.tgz``, ``.tar``, ``.zip``, ... file.
        folder (str or Path): Where the unpacked folder goes.
        member (str): The archive's top-level folder to keep (``jpg`` for Flowers17).

    Returns:
        Path: ``folder/member``.

    Raises:
        ValueError: The archive has no top-level ``member`` folder.

    Example:
        >>> extract("resources/flowers17/17flowers.tgz", "resources/flowers17", "jpg")  # doctest: +SKIP
        PosixPath('resources/flowers17/jpg')
    """
    destination = Path(folder) / member
    if destination.is_dir():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".extract-", dir=destination.parent))
    try:
        extract_archive(str(archive), str(scratch))
        if not (scratch / member).is_dir():
            raise ValueError(f"archive {archive} has no top-level folder {member!r}")
        os.replace(scratch / member, destination)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return destination


def _by_hand(url: str, target: Path) -> str:
    # Data sets are prepared in resources/{name}/, so the folder names the config entry.
    return (f"On a machine with internet run `driftlens fetch EXPERIMENT`, or download {url} by hand and place it "
            f"at {target},\nor set `datasets.{target.parent.name}.source` in config.yaml to a local copy "
            f"(`--source` on the command line).")
