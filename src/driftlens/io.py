"""Atomic file writing: every artifact is written under a temporary name, then renamed.

A job killed halfway leaves either the old file or none, never half of a new one.
"""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    The parent folder is created. On an exception the temporary file is deleted and ``path`` is
    left as it was.

    Args:
        path (str or Path): The final file.

    Yields:
        Path: Where to write. It keeps ``path``'s suffix, so format detection by suffix works.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("hello")
        >>> target.read_text()
        'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes files private; artifacts get the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_json(obj, path) -> None:
    """Write ``obj`` as indented JSON, atomically.

    Example:
        >>> import tempfile, os
        >>> save_json({"a": 1}, os.path.join(tempfile.mkdtemp(), "m.json"))
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_image(image, path) -> None:
    """Write a PIL image, or a float array in [0, 1] of shape ``(H, W, 3)``, atomically.

    Example:
        >>> import tempfile, os, numpy as np
        >>> save_image(np.zeros((4, 4, 3)), os.path.join(tempfile.mkdtemp(), "x.png"))
    """
    if not isinstance(image, Image.Image):
        image = Image.fromarray(to_uint8(image))
    with atomic_path(path) as tmp:
        image.save(tmp)


def save_npz(path, **arrays) -> None:
    """Write arrays to a compressed ``.npz``, atomically.

    Example:
        >>> import tempfile, os, numpy as np
        >>> save_npz(os.path.join(tempfile.mkdtemp(), "x.npz"), images=np.zeros(3))
    """
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


def save_torch(obj, path) -> None:
    """``torch.save`` atomically.

    Example:
        >>> import tempfile, os, torch
        >>> save_torch({"w": torch.ones(1)}, os.path.join(tempfile.mkdtemp(), "c.pt"))
    """
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def to_uint8(image) -> np.ndarray:
    """Float image(s) in [0, 1] to uint8, clipping out-of-range values.

    Example:
        >>> to_uint8(np.array([0.0, 0.5, 1.2])).tolist()
        [0, 128, 255]
    """
    return (np.clip(np.asarray(image, dtype=np.float64), 0, 1) * 255 + 0.5).astype(np.uint8)
