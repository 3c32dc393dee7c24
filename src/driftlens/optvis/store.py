"""Never render the same thing twice: renders stored under the hash of everything that determines them.

A layer's render depends only on the parameters and buffers of the modules that run before its output
(and its own), on the render settings and on the rendering code. :func:`render_key` hashes exactly those
(the source of ``optvis``, ``models`` and ``precision`` for the code; for the weights, the conservative
superset :func:`driftlens.models.upstream_state`), so a layer whose upstream weights are bit-identical to
those of a checkpoint already rendered (a frozen layer at every epoch, every layer during head-only epochs)
gets the same key, and :class:`RenderStore` hands back that render's arrays unchanged.

Example:
    >>> import driftlens, torch
    >>> a = driftlens.models.load("tiny", weights="random", seed=0)
    >>> b = driftlens.models.load("tiny", weights="random", seed=0)
    >>> with torch.no_grad():
    ...     _ = b.net.fc.weight.add_(1.0)          # after conv3: conv3's renders cannot change
    >>> render_key(a, "conv3", [0], [0], {"steps": 8}) == render_key(b, "conv3", [0], [0], {"steps": 8})
    True
"""

import contextlib
import fcntl
import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from driftlens.artifacts import read_artifact, write_artifact
from driftlens.models import upstream_state

RENDER_STORE_ENTRY = "stored render"


def render_key(model, layer: str, channels, seeds, settings: dict) -> str:
    """The SHA-256 of a layer's upstream state (:func:`~driftlens.models.upstream_state`), its channels, seeds and render settings.

    Args:
        model (ModelWrapper): The network.
        layer (str): Layer name or alias.
        channels (list[int]): The rendered channels.
        seeds (list[int]): The image seeds.
        settings (dict): Every render setting (method, steps, size, transform seed, precision, ...), JSON-serialisable.

    Returns:
        str: 64 hexadecimal digits.

    Example:
        >>> import driftlens
        >>> len(render_key(driftlens.models.load("tiny", weights="random"), "conv2", [0, 1], [0], {"steps": 8}))
        64
    """
    digest = hashlib.sha256(json.dumps({"model": model.name, "layer": model.resolve(layer), "channels": list(channels),
                                        "seeds": list(seeds), "settings": settings, "code": _code_digest()},
                                       sort_keys=True).encode())
    for name, tensor in sorted(upstream_state(model, layer).items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """SHA-256 of the source of the packages a render runs (optvis, models, precision): new code never reuses."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted([*package.glob("optvis/*.py"), *package.glob("models/*.py"), package / "precision.py"]):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class RenderStore:
    """A folder of renders by :func:`render_key`, shared safely by concurrent jobs.

    A job claims the keys it will render (:meth:`claim`, without waiting: keys another job is rendering are
    reported busy); it renders and stores its own, and then waits for the busy ones (:meth:`reserve`) and
    reuses them. Locks are taken in sorted order, so jobs never deadlock, and a job never idles while it has
    something of its own to render.

    Args:
        folder (str or Path): Where the renders are kept, e.g. ``results/flowers17_lite0/render_store``.

    Example:
        >>> import tempfile
        >>> store = RenderStore(tempfile.mkdtemp())
        >>> with store.claim(["ab"]) as busy:
        ...     busy, store.get("ab") is None
        (set(), True)
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    @contextlib.contextmanager
    def claim(self, keys):
        """Lock every free key until the block ends; yields the keys that another job holds (not waited for)."""
        with self._locked(keys, wait=False) as busy:
            yield busy

    @contextlib.contextmanager
    def reserve(self, keys):
        """Lock every key, waiting for any that another job holds, until the block ends."""
        with self._locked(keys, wait=True):
            yield self

    @contextlib.contextmanager
    def _locked(self, keys, wait: bool):
        self.folder.mkdir(parents=True, exist_ok=True)
        busy = set()
        with contextlib.ExitStack() as stack:
            for key in sorted(set(keys)):
                lock = stack.enter_context(open(self.folder / f"{key}.lock", "w"))
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    busy.add(key)
            yield busy

    def get(self, key: str) -> np.ndarray | None:
        """The stored images of ``key``, or None."""
        path = self.folder / f"{key}.npz"
        return read_artifact(path, RENDER_STORE_ENTRY, key=key)[1]["images"] if path.is_file() else None

    def put(self, key: str, images) -> None:
        """Store the images of ``key`` (atomically)."""
        write_artifact(self.folder / f"{key}.npz", RENDER_STORE_ENTRY, {"key": key}, images=np.asarray(images))
