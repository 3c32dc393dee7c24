"""Atomic file writing: every artifact is written under a temporary name, then renamed.

A job killed halfway leaves either the old file or none, never half of a new one.
"""

import errno
import json
import os
import re
import tempfile
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

from driftlens.errors import DiskFullError


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    The parent folder is created, and hidden temporary files that an earlier, killed write of the
    same file left behind are removed first. On an exception the temporary file is deleted and
    ``path`` is left as it was.

    Args:
        path (str or Path): The final file.

    Yields:
        Path: Where to write. It keeps ``path``'s suffix, so format detection by suffix works.

    Raises:
        DiskFullError: The disk filled up while writing (the message names ``path``).

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("hello")
        >>> target.read_text()
        'hello'
    """
    with atomic_paths(path) as (tmp,):
        yield tmp


@contextmanager
def atomic_paths(*paths):
    """Like :func:`atomic_path` for a set of files that belong together: both (all) or neither appear.

    Every file is written to its temporary path first. Only when the block succeeds are the old
    files removed and the new ones renamed into place, so a job killed at any moment never leaves
    a new file beside an old one of the same set (at worst some are missing, which Snakemake redoes).

    Args:
        *paths (str or Path): The final files.

    Yields:
        list[Path]: A temporary path per file, in the same order.

    Raises:
        DiskFullError: The disk filled up while writing (the message names the files).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_paths(folder / "a.txt", folder / "b.txt") as (a, b):
        ...     _ = a.write_text("A"), b.write_text("B")
        >>> sorted(path.name for path in folder.iterdir())
        ['a.txt', 'b.txt']
    """
    paths = [Path(path) for path in paths]
    temps = [_temporary_beside(path) for path in paths]
    try:
        yield temps
        if len(paths) > 1:
            for path in paths:
                path.unlink(missing_ok=True)
        for tmp, path in zip(temps, paths):
            os.replace(tmp, path)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise DiskFullError(f"disk full while writing {' and '.join(map(str, paths))}") from err
        raise
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def _temporary_beside(path: Path) -> Path:
    """A new hidden ``.{stem}.XXXXXXXX{suffix}`` file beside ``path``, after removing stale ones of that form."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stale = re.compile(re.escape(f".{path.stem}.") + r"[a-z0-9_]{8}" + re.escape(path.suffix))
    for old in path.parent.iterdir():
        if stale.fullmatch(old.name):
            old.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes files private; artifacts get the usual permissions
    return tmp


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_json(obj, path) -> None:
    """Write ``obj`` as indented, standard JSON (never NaN or Infinity), atomically.

    Raises:
        ValueError: ``obj`` holds NaN or an infinity (standard JSON has neither); the message names ``path``.

    Example:
        >>> import tempfile, os
        >>> save_json({"a": 1}, os.path.join(tempfile.mkdtemp(), "m.json"))
    """
    try:
        text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False)
    except ValueError as err:
        raise ValueError(f"refusing to write NaN or infinity to {path}: standard JSON has neither") from err
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def save_image(image, path) -> None:
    """Write a PIL image, or a float array in [0, 1] of shape ``(H, W, 3)``, atomically.

    Example:
        >>> import tempfile, os, numpy as np
        >>> save_image(np.zeros((4, 4, 3)), os.path.join(tempfile.mkdtemp(), "x.png"))
    """
    with atomic_path(path) as tmp:
        to_pil(image).save(tmp)


def to_pil(image) -> Image.Image:
    """A PIL image as it is, or a float array in [0, 1] of shape ``(H, W, 3)`` as an 8-bit RGB image.

    Example:
        >>> to_pil(np.ones((2, 3, 3))).size
        (3, 2)
    """
    return image if isinstance(image, Image.Image) else Image.fromarray(to_uint8(image))


def save_npz(path, **arrays) -> None:
    """Write arrays to a compressed ``.npz``, atomically.

    Example:
        >>> import tempfile, os, numpy as np
        >>> save_npz(os.path.join(tempfile.mkdtemp(), "x.npz"), images=np.zeros(3))
    """
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


def save_torch(obj, path) -> None:
    """``torch.save`` atomically, byte for byte the same for the same ``obj``.

    ``torch.save`` stores the name of the file it writes inside the archive; saving to memory
    first gives a fixed name, so identical objects give identical files (and checksums).

    Example:
        >>> import tempfile, os, torch
        >>> save_torch({"w": torch.ones(1)}, os.path.join(tempfile.mkdtemp(), "c.pt"))
    """
    import torch  # here, so that commands writing only images and tables start without torch

    buffer = BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def to_uint8(image) -> np.ndarray:
    """Float image(s) in [0, 1] to uint8, clipping out-of-range values.

    Example:
        >>> to_uint8(np.array([0.0, 0.5, 1.2])).tolist()
        [0, 128, 255]
    """
    return (np.clip(np.asarray(image, dtype=np.float64), 0, 1) * 255 + 0.5).astype(np.uint8)
