"""The latents ``features.png`` shows, and renders of their decoder directions at the checkpoint where they live.

Example:
    >>> import pandas as pd
    >>> table = pd.DataFrame({"latent": [4, 2, 7], "class": ["new", "lost", "shared"], "share": [0.1, 0.2, 0.3]})
    >>> gallery_rows(table, 1)["latent"].tolist()
    [4, 2]
"""

import pandas as pd
import torch

from driftlens.optvis.methods import visualize
from driftlens.optvis.objectives import direction


ADDED, REMOVED = ("new", "strengthened"), ("lost", "weakened")
"""What the gallery shows first: latents the fine-tune added (new, else strengthened) and removed (lost, else
weakened), in the table's order."""


def gallery_rows(table, count: int):
    """The top ``count`` added and the top ``count`` removed latents (:data:`ADDED`, :data:`REMOVED`, in the table's
    order), else the top rotated or rewired ones.

    Example:
        >>> import pandas as pd
        >>> gallery_rows(pd.DataFrame({"latent": [1], "class": ["rotated"]}), 2)["latent"].tolist()
        [1]
    """
    chosen = pd.concat([table[table["class"].isin(ADDED)].head(count), table[table["class"].isin(REMOVED)].head(count)])
    return chosen if len(chosen) else table[table["class"].isin(("rotated", "rewired"))].head(count)


def render_directions(checkpoints: dict, meta: dict, state: dict, rows, device="cpu", progress: bool = True,
                      **render_options) -> dict:
    """Render each row's latent: its decoder direction at its home epoch's checkpoint, one batch per checkpoint.

    Args:
        checkpoints (dict[int, ModelWrapper]): Epoch to model.
        meta (dict): The crosscoder's metadata (``layer``, ``epochs``).
        state (dict[str, np.ndarray]): Its weights (``decoder`` ``(L, M, d)``).
        rows (pandas.DataFrame): ``latent`` and ``home_epoch`` of the latents to render.
        device (str, optional): Default: "cpu"
        progress (bool, optional): Default: True
        **render_options: Passed to :func:`~driftlens.optvis.methods.visualize` (method, steps, size, seed).

    Returns:
        dict[int, np.ndarray]: Latent to its ``(S, S, 3)`` render.

    Example:
        >>> import driftlens, numpy as np, pandas as pd
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> renders = render_directions({0: model}, {"layer": "conv3", "epochs": [0]},
        ...                             {"decoder": np.ones((2, 1, 16))}, pd.DataFrame({"latent": [1], "home_epoch": [0]}),
        ...                             steps=2, size=32, progress=False)
        >>> renders[1].shape
        (32, 32, 3)
    """
    renders = {}
    decoder = torch.as_tensor(state["decoder"])
    for epoch in sorted(set(rows["home_epoch"])):
        latents = rows[rows["home_epoch"] == epoch]["latent"].tolist()
        home = meta["epochs"].index(epoch)
        objectives = [direction(meta["layer"], decoder[latent, home]) for latent in latents]
        images = visualize(checkpoints[epoch].to(device), objectives, progress=progress, **render_options).images
        renders.update(zip(latents, images))
    return renders
