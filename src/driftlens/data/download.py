"""Downloading and unpacking archives: checksummed, restartable, never a partial file under the final name."""

import http.client
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from torchvision.datasets.utils import calculate_md5, check_integrity, extract_archive

from driftlens.errors import ArtifactError, DownloadError
from driftlens.progress import bar as progress_bar


def fetch(url: str, target, md5: str) -> Path:
    """Download ``url`` to ``target`` unless a file with the right MD5 is already there.

    The transfer goes to ``target.part`` (with a progress bar) and is renamed to ``target`` only
    after its MD5 matched, so an interrupted or corrupt transfer never leaves a file
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
    if not check_integrity(part, md5):
        try:
            _download(url, part)
        except (OSError, http.client.HTTPException) as err:  # URLError, resets and short reads
            part.unlink(missing_ok=True)
            reason = "the transfer was truncated" if isinstance(err, http.client.IncompleteRead) else type(err).__name__
            raise DownloadError(f"could not download {url} ({reason}: {err}).\n{_by_hand(url, target)}") from err
    actual = calculate_md5(part)
    if actual != md5:
        part.unlink()
        raise DownloadError(f"checksum mismatch for {url}: MD5 {actual}, expected {md5} "
                            f"(the transfer was truncated or the file differs).\n{_by_hand(url, target)}")
    os.replace(part, target)
    return target


def _download(url: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with progress_bar(total=total, unit="B", unit_scale=True, desc=path.name.removesuffix(".part")) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))


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
            raise ArtifactError(f"archive {archive} has no top-level folder {member!r}")
        os.replace(scratch / member, destination)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return destination


def _by_hand(url: str, target: Path) -> str:
    # Data sets are prepared in resources/{name}/, so the folder names the config entry.
    return (f"On a machine with internet run `driftlens fetch EXPERIMENT`, or download {url} by hand and place it "
            f"at {target},\nor set `datasets.{target.parent.name}.source` in config.yaml to a local copy "
            f"(`--source` on the command line).")
