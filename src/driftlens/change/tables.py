"""The change tables of two models, the library's one call: which channels of some layers changed between them.

Example:
    >>> import numpy as np, driftlens
    >>> a = driftlens.models.load("tiny", weights="random")
    >>> table = compare_models(a, a, {"conv2": None}, np.random.rand(16, 32, 32, 3), render=False)["conv2"]
    >>> len(table), bool(table.changed.any())
    (32, False)
"""

from driftlens.change.render_evidence import change_table
from driftlens.change.responses import layer_responses, render_responses, unit_responses
from driftlens.change.screen import screen_table
from driftlens.progress import bar as progress_bar


def compare_models(first, later, units: dict, probe, seeds=(0, 1, 2), render: bool = True, screen: dict | None = None,
                   warm_steps: int | None = None, **render_options) -> dict:
    """Screen every channel of some layers, optionally render chosen ones, and return each layer's verdicts.

    The screen (:func:`~driftlens.change.screen.screen_table`) always covers every channel of a layer,
    so that its false-discovery rate is controlled over the whole layer. Without rendering, the result
    is the screen of the channels asked for; with rendering, it is their change table
    (:func:`~driftlens.change.render_evidence.change_table`), which combines the screen's verdict with
    the render evidence. Both have a boolean ``changed`` column and rows for epoch 0 (the first model)
    and epoch 1 (the later one). This is what the workflow does per checkpoint (``representation``,
    ``screen``, ``render-checkpoint``, ``responses``, ``change``), without pixel metrics.

    Args:
        first (ModelWrapper): The reference model (epoch 0).
        later (ModelWrapper): The model compared with it (same architecture).
        units (dict[str, list[int] or None]): Layer to channels; None means every channel of the layer
            (only without rendering).
        probe (np.ndarray): ``(N, H, W, 3)`` natural images in [0, 1].
        seeds (list[int], optional): Image seeds of the renders, at least two. Default: (0, 1, 2)
        render (bool, optional): Render the channels and add render evidence. Default: True
        screen (dict, optional): Options of :func:`~driftlens.change.screen.screen_table` (``min_effect``,
            ``alpha``, ``top_k``, ``resamples``). Default: None (its defaults)
        warm_steps (int, optional): Render the later model by continuing from the first model's renders for
            this many steps (a warm start, lucid only) instead of from noise. Default: None (from noise)
        **render_options: Passed to :func:`~driftlens.optvis.visualize_units` (method, steps, size, ...).

    Returns:
        dict[str, pandas.DataFrame]: Layer to its table (epochs 0 and 1).

    Example:
        >>> import numpy as np, driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> tables = compare_models(a, a, {"conv3.0": [0, 1]}, np.random.rand(8, 32, 32, 3), size=32, steps=2,
        ...                         progress=False)
        >>> bool(tables["conv3.0"].changed.any())
        False
    """
    everything = {layer: list(range(shape[0])) for layer, shape in first.output_shapes(list(units)).items()}
    responses = [layer_responses(model, probe, everything) for model in (first, later)]
    screens = {layer: screen_table({0: responses[0][layer], 1: responses[1][layer]}, **(screen or {}))
               for layer in units}
    chosen = {layer: everything[layer] if channels is None else list(channels) for layer, channels in units.items()}
    if not render:
        return {layer: screens[layer][screens[layer].channel.isin(chosen[layer])].reset_index(drop=True)
                for layer in units}
    from driftlens.optvis import visualize_units

    renders = [visualize_units(first, chosen, list(seeds), **render_options)]
    warm = {"steps": warm_steps, "starts": renders[0]} if warm_steps else {}
    renders.append(visualize_units(later, chosen, list(seeds), **{**render_options, **warm}))
    return {layer: rendered_table(first, later, layer, chosen[layer], probe, renders[0][layer], renders[1][layer],
                                   screens[layer]) for layer in units}


def rendered_table(first, later, layer: str, channels, probe, ours, theirs, screen=None):
    """The change table (epochs 0 and 1) of rendered channels from the two models' renders.

    Args:
        first (ModelWrapper): The reference model (epoch 0).
        later (ModelWrapper): The model compared with it.
        layer (str): The layer.
        channels (list[int]): Its rendered channels, in column order.
        probe (np.ndarray): ``(N, H, W, 3)`` natural images in [0, 1].
        ours (np.ndarray): ``(S, C, H, W, 3)`` the first model's renders of the channels.
        theirs (np.ndarray): The later model's renders, of the same shape.
        screen (pandas.DataFrame, optional): The layer's screen. Default: None (render evidence alone)

    Returns:
        pandas.DataFrame: See :func:`~driftlens.change.render_evidence.change_table`.

    Example:
        >>> import numpy as np, driftlens
        >>> a = driftlens.models.load("tiny", weights="random")
        >>> renders = np.random.default_rng(0).random((2, 1, 32, 32, 3), dtype=np.float32)
        >>> table = rendered_table(a, a, "conv3", [4], np.random.rand(8, 32, 32, 3), renders, renders)
        >>> table.query("epoch == 1").changed.tolist()
        [False]
    """
    measured = {epoch: {**render_responses(first, model, ours, renders, layer, channels),
                        "probe": unit_responses(model, probe, layer, channels)}
                for epoch, model, renders in ((0, first, ours), (1, later, theirs))}
    return change_table(measured, channels, screen=screen)


def screen_checkpoints(load_model, epochs, layers, probe, progress: bool = True, **screen_options) -> dict:
    """The screen of every channel of some layers over a series of checkpoints, one model in memory at a time.

    Args:
        load_model (callable): ``load_model(epoch)`` returns the model of that epoch (a ModelWrapper).
        epochs (list[int]): The epochs, the first (lowest) being the reference.
        layers (list[str]): Layer names or aliases.
        probe (np.ndarray): ``(N, H, W, 3)`` natural images in [0, 1].
        progress (bool, optional): Show a progress bar over the checkpoints. Default: True
        **screen_options: Passed to :func:`~driftlens.change.screen.screen_table` (``min_effect``, ``alpha``, ...).

    Returns:
        dict[str, pandas.DataFrame]: Layer to its screen, one row per epoch and channel.

    Example:
        >>> import numpy as np, driftlens
        >>> nets = {0: driftlens.models.load("tiny", weights="random", seed=0),
        ...         3: driftlens.models.load("tiny", weights="random", seed=1)}
        >>> tables = screen_checkpoints(nets.get, [0, 3], ["conv3"], np.random.rand(16, 32, 32, 3), progress=False)
        >>> sorted(tables["conv3"].epoch.unique().tolist()), len(tables["conv3"])
        ([0, 3], 32)
    """
    responses = {}
    for epoch in progress_bar(epochs, desc="checkpoints", unit="checkpoint", disable=not progress):
        model = load_model(epoch)
        everything = {layer: list(range(shape[0])) for layer, shape in model.output_shapes(list(layers)).items()}
        responses[epoch] = layer_responses(model, probe, everything)
    return {layer: screen_table({epoch: responses[epoch][layer] for epoch in epochs}, **screen_options)
            for layer in layers}
