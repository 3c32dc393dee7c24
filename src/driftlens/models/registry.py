"""The model zoo: ``load(name, weights)`` for the zoo, any torchvision classification model and timm models."""

import difflib
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

import torch
from driftlens.models.efficientnet_lite import EfficientNetLite0, load_imagenet_lite0
from driftlens.models.tiny import TinyCNN
from driftlens.checkpoints import Checkpoint, fit_keys, load_weights_file, read_checkpoint, state_dict_of
from driftlens.errors import ArtifactError, ConfigError
from driftlens.io import save_json
from driftlens.models.tokens import prefix_tokens
from driftlens.models.weights import download_file, download_timm, load_timm, load_torchvision, read_state_dict
from driftlens.models.wrapper import IMAGENET_MEAN, IMAGENET_STD, ModelWrapper

TIMM_PREFIX = "timm:"

GOOGLENET_BLOCKS = ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")
"""The inception blocks, as the paper, lucid and torchvision name them."""

SLIM_BLOCKS = ("3b", "3c", "4b", "4c", "4d", "4e", "4f", "5b", "5c")
"""The same blocks as TF-slim's InceptionV1 and its Keras port (the seed's network) name them: one letter on, so
the seed's ``Mixed_4c`` is the paper's, lucid's and torchvision's block 4b (docs/googlenet.md)."""

GOOGLENET_BRANCHES = {
    "branch1": ("1x1", "Branch_0_a_1x1"),
    "branch2.0": ("3x3_bottleneck", "Branch_1_a_1x1"),
    "branch2": ("3x3", "Branch_1_b_3x3"),
    "branch3.0": ("5x5_bottleneck", "Branch_2_a_1x1"),
    "branch3": ("5x5", "Branch_2_b_3x3"),
    "branch4": ("pool_reduce", "Branch_3_b_1x1"),
}
"""torchvision's branch module of an inception block: its lucid suffix and its TF-slim / Keras suffix. torchvision
(like the Keras port) has a 3x3 convolution where the paper's (and lucid's) 5x5 branch is."""

# lucid's InceptionV1 names, and the seed's Keras names (with and without "_act/Relu"), for torchvision's modules.
GOOGLENET_ALIASES = {
    "conv2d0": "conv1", "conv2d1": "conv2", "conv2d2": "conv3",
    **{f"mixed{b}": f"inception{b}" for b in GOOGLENET_BLOCKS},
    **{f"Mixed_{slim}_{keras}{suffix}": f"inception{block}.{branch}"
       for block, slim in zip(GOOGLENET_BLOCKS, SLIM_BLOCKS) for branch, (_, keras) in GOOGLENET_BRANCHES.items()
       for suffix in ("_act/Relu", "")},
    **{f"mixed{block}_{lucid}": f"inception{block}.{branch}"
       for block in GOOGLENET_BLOCKS for branch, (lucid, _) in GOOGLENET_BRANCHES.items()},
}


@dataclass(frozen=True)
class ModelSpec:
    """How to build one network of the zoo.

    ``random()`` builds it untrained; ``imagenet()`` builds it with ImageNet weights. ``head`` None
    means the last linear (or convolutional) module, see :func:`~driftlens.models.wrapper.find_head`.
    ``download(mirror)`` puts the ImageNet weights into the cache ``imagenet()`` reads and returns the
    file; None when they need no download (they ship in a package, or there are none).
    """

    random: Callable[[], torch.nn.Module]
    imagenet: Callable[[], torch.nn.Module] | None
    input_size: int
    head: str | None
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    aliases: dict = field(default_factory=dict)
    download: Callable[[str | None], Path] | None = None


def _torchvision(builder: str, weights: str, input_size, head, aliases=None, **random_kwargs) -> ModelSpec:
    # torchvision is imported on first use only: it costs seconds that most commands do not need.
    # With weights, torchvision sets (and refuses overrides of) aux_logits and transform_input itself.
    return ModelSpec(random=partial(_build_torchvision, builder, None, **random_kwargs),
                     imagenet=partial(_build_torchvision, builder, weights),
                     input_size=input_size, head=head, aliases=aliases or {},
                     download=lambda mirror: download_file(_imagenet1k(weights).url, mirror))


def _imagenet1k(weights: str):
    import torchvision.models as tvm

    return getattr(tvm, weights).IMAGENET1K_V1


def _build_torchvision(builder: str, weights: str | None, **kwargs) -> torch.nn.Module:
    import torchvision.models as tvm

    if weights is None:
        return getattr(tvm, builder)(weights=None, **kwargs)
    return load_torchvision(getattr(tvm, builder), _imagenet1k(weights), **kwargs)


MODELS: dict[str, ModelSpec] = {
    "googlenet": _torchvision("googlenet", "GoogLeNet_Weights", 224, "fc", GOOGLENET_ALIASES,
                              aux_logits=False, transform_input=True, init_weights=True),
    "vgg16": _torchvision("vgg16", "VGG16_Weights", 224, "classifier.6"),
    "resnet50": _torchvision("resnet50", "ResNet50_Weights", 224, "fc"),
    "alexnet": _torchvision("alexnet", "AlexNet_Weights", 224, "classifier.6"),
    "inception_v3": _torchvision("inception_v3", "Inception_V3_Weights", 299, "fc",
                                 aux_logits=False, transform_input=True, init_weights=True),
    "efficientnet_lite0": ModelSpec(random=EfficientNetLite0, imagenet=load_imagenet_lite0, input_size=224,
                                    head="fc", mean=(0.498, 0.498, 0.498), std=(0.502, 0.502, 0.502)),
    "tiny": ModelSpec(random=TinyCNN, imagenet=None, input_size=32, head="fc"),
}


def torchvision_spec(name: str) -> ModelSpec:
    """A torchvision classification model by name: random, or its ``DEFAULT`` weights for ``imagenet``.

    Input size and normalisation are those of the default weights' preset transform.

    Raises:
        ConfigError: Not a torchvision classification model; the message lists close names.

    Example:
        >>> spec = torchvision_spec("mobilenet_v3_small")
        >>> spec.input_size, spec.mean
        (224, (0.485, 0.456, 0.406))
    """
    import torchvision.models as tvm

    names = tvm.list_models(module=tvm)
    if name not in names:
        close = difflib.get_close_matches(name, list(dict.fromkeys(available() + names)), n=5, cutoff=0.6)
        raise ConfigError(f"unknown model {name!r}: not in the zoo ({', '.join(available())}), not a torchvision "
                         f"classification model, and timm models are named timm:<name>"
                         + (f"; closest: {', '.join(close)}" if close else ""))
    weights = tvm.get_model_weights(name).DEFAULT
    preset = weights.transforms()
    return ModelSpec(random=partial(tvm.get_model, name, weights=None),
                     imagenet=partial(load_torchvision, partial(tvm.get_model, name), weights),
                     input_size=preset.crop_size[0], head=None, mean=tuple(preset.mean), std=tuple(preset.std),
                     download=partial(download_file, weights.url))


def timm_spec(name: str) -> ModelSpec:
    """A timm model by name (without the ``timm:`` prefix): random, or its default pretrained weights.

    Input size, normalisation and classifier come from the model's default pretrained config.

    Raises:
        ConfigError: timm is not installed (the ``timm`` extra), or has no such model.

    Example:
        >>> timm_spec("resnet10t").head
        'fc'
    """
    try:
        import timm
    except ImportError as err:
        raise ConfigError(f"model timm:{name} needs timm: pip install 'driftlens[timm]'") from err
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
        raise ConfigError(f"timm has no model {name!r}" + (f"; closest: {', '.join(close)}" if close else ""))
    cfg = timm.get_pretrained_cfg(name)
    classifier = cfg.classifier if cfg else None
    return ModelSpec(random=partial(timm.create_model, name, pretrained=False),
                     imagenet=partial(load_timm, name) if cfg else None,
                     input_size=cfg.input_size[-1] if cfg else 224,
                     head=classifier[0] if isinstance(classifier, (tuple, list)) else classifier,
                     mean=tuple(cfg.mean) if cfg else IMAGENET_MEAN, std=tuple(cfg.std) if cfg else IMAGENET_STD,
                     download=(lambda mirror: download_timm(name)) if cfg else None)


def available() -> list[str]:
    """Names of the zoo; :func:`load` also takes any torchvision classification model and ``timm:<name>``.

    Example:
        >>> "googlenet" in available()
        True
    """
    return sorted(MODELS)


def spec_for(name: str) -> ModelSpec:
    """How to build the model called ``name``: a zoo entry, a torchvision model or ``timm:<name>``.

    Args:
        name (str): A zoo name (:func:`available`), a torchvision classification model
            (``mobilenet_v3_small``, see ``torchvision.models.list_models()``) or a timm model
            prefixed with ``timm:`` (``timm:resnet10t``; needs the ``timm`` extra).

    Returns:
        ModelSpec: Builders and input conventions (size, normalisation, classifier path).

    Raises:
        ConfigError: No zoo, torchvision or timm model of that name; the message lists close names.

    Example:
        >>> spec_for("squeezenet1_1").input_size
        224
    """
    if name in MODELS:
        return MODELS[name]
    if name.startswith(TIMM_PREFIX):
        return timm_spec(name[len(TIMM_PREFIX):])
    return torchvision_spec(name)


def load(name: str, weights: str = "imagenet", num_classes: int | None = None, seed: int = 0) -> ModelWrapper:
    """Build a network, wrapped with its input size, normalisation and layer names.

    Args:
        name (str): A zoo model (:func:`available`: ``googlenet``, ``efficientnet_lite0``, ``tiny``, ...),
            any torchvision classification model (``mobilenet_v3_small``) or ``timm:<name>``.
        weights (str, optional): ``imagenet`` (for torchvision and timm models: their default
            pretrained weights), ``random``, or a path to a state dict (or a driftlens checkpoint).
            Default: "imagenet"
        num_classes (int, optional): Replace the classifier by a fresh one of this size (after loading
            ``imagenet`` weights), or build a random network of this size. With a state dict file,
            the size is read from the file. Default: keep the classifier
        seed (int, optional): Seed for random initialisation. Default: 0

    Returns:
        ModelWrapper: In eval mode, on the CPU.

    Raises:
        ConfigError: Unknown model name, or ``imagenet`` for a model that has no such weights.
        WeightsUnavailableError: Weights cannot be downloaded or read.

    Example:
        >>> model = load("efficientnet_lite0", weights="imagenet")
        >>> model.input_size, model.num_classes
        (224, 1000)
    """
    spec = spec_for(name)
    torch.manual_seed(seed)
    if weights == "imagenet":
        if spec.imagenet is None:
            raise ConfigError(f"model {name!r} has no ImageNet weights; use weights='random' or a file")
        net = spec.imagenet()
    elif weights == "random":
        net = spec.random()
    else:
        net = _from_state(spec, name, read_state_dict(weights), weights)
    model = _wrap(net, name, spec)
    if num_classes is not None and weights in ("imagenet", "random") and num_classes != model.num_classes:
        model.replace_head(num_classes)
    return model.eval()


def _wrap(net: torch.nn.Module, name: str, spec: ModelSpec) -> ModelWrapper:
    return ModelWrapper(net, name, spec.input_size, spec.head, spec.mean, spec.std, spec.aliases,
                        prefix_tokens=prefix_tokens(net))


def _from_state(spec: ModelSpec, name: str, state: dict, source) -> torch.nn.Module:
    net = spec.random()
    wrapper = _wrap(net, name, spec)
    head_weight = state.get(f"{wrapper.head}.weight")
    if head_weight is not None and head_weight.shape[0] != wrapper.num_classes:
        wrapper.replace_head(head_weight.shape[0])
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise ArtifactError(f"the weights in {source} do not fit this model: {str(err).splitlines()[0]}") from err
    return net


def from_file(name: str, path, key: str | None = None) -> ModelWrapper:
    """A network from a checkpoint written by any tool: driftlens, timm, Lightning, torchvision's references, plain.

    The file is read weights-only (:func:`driftlens.checkpoints.reading.load_weights_file`; ``.safetensors`` too), its
    state dict found (:func:`driftlens.checkpoints.reading.state_dict_of`), wrapper prefixes removed
    (:func:`driftlens.checkpoints.reading.fit_keys`), and a classifier of another size (the new task's classes) is
    built at the file's size.

    Args:
        name (str): The model (zoo, torchvision or ``timm:<name>``).
        path (str or Path): The checkpoint file.
        key (str, optional): The entry that holds the weights, where a file has several. Default: the first found

    Returns:
        ModelWrapper: In eval mode, on the CPU.

    Raises:
        ArtifactError: The file cannot be read weights-only, holds no state dict, or does not fit the model; the
            message names the file, how many keys matched and the first missing and unexpected ones.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "ddp.pt")
        >>> net = load("tiny", weights="random").net
        >>> torch.save({"epoch": 2, "model": {f"module.{k}": v for k, v in net.state_dict().items()}}, path)
        >>> from_file("tiny", path).num_classes
        10
    """
    spec = spec_for(name)
    state, where = state_dict_of(load_weights_file(path), path, key)
    source = f"{path} ({where})"
    net = _from_state(spec, name, fit_keys(state, list(architecture(name).net.state_dict()), source), source)
    return _wrap(net, name, spec).eval()


@lru_cache(maxsize=None)
def architecture(name: str) -> ModelWrapper:
    """The network of the zoo with uninitialised weights, for its layer names and shapes only.

    Nothing is downloaded, read or randomly initialised (the network is built on PyTorch's meta
    device, then given empty CPU memory), so this is fast even for large networks; the result is
    cached per name. Never use its outputs as values.

    Args:
        name (str): One of :func:`available`.

    Returns:
        ModelWrapper: In eval mode, on the CPU, with garbage weights.

    Raises:
        ConfigError: Unknown model name.

    Example:
        >>> architecture("googlenet").output_shapes(["mixed4c"])
        {'mixed4c': (512, 14, 14)}
    """
    spec = spec_for(name)
    with torch.device("meta"):
        net = spec.random()
    net = net.to_empty(device="cpu")
    return _wrap(net, name, spec).eval()


LAYER_TABLES = Path(__file__).with_name("layer_tables.json")
"""Packaged ``{model: {layer name or alias: channels}}`` of every zoo model, as :func:`layer_table` gives.

It lets the workflow check a config's layers and channels without importing torch; a test keeps it
equal to the architectures (rewrite it with :func:`write_layer_tables`)."""


def layer_table(name: str) -> dict[str, int]:
    """The channel count of every layer of a zoo model, by module path and by alias, from its architecture.

    Args:
        name (str): One of :func:`available`.

    Returns:
        dict[str, int]: Layer name or alias to the channel count (first dimension) of its output.

    Example:
        >>> layer_table("tiny")["conv3"], layer_table("tiny")["logits"]
        (16, 10)
    """
    model = architecture(name)
    names = [path for path, _ in model.net.named_modules() if path] + sorted(model.aliases)
    return {layer: shape[0] for layer, shape in model.output_shapes(names).items()}


def write_layer_tables(path=LAYER_TABLES) -> None:
    """Write :data:`LAYER_TABLES` (the layer table of every zoo model), after a change to the zoo.

    Example:
        >>> write_layer_tables()  # doctest: +SKIP
    """
    save_json({name: layer_table(name) for name in available()}, path)


def from_checkpoint(checkpoint) -> ModelWrapper:
    """Rebuild the model saved in a driftlens training checkpoint (see :mod:`driftlens.checkpoints.format`).

    Args:
        checkpoint (str, Path or Checkpoint): ``results/{exp}/checkpoints/epoch_NNN.pt``, or a
            checkpoint already read with :func:`~driftlens.checkpoints.format.read_checkpoint`.

    Returns:
        ModelWrapper: In eval mode, on the CPU, with the checkpoint's classifier size; ``epoch`` holds
            the checkpoint's epoch.

    Raises:
        MissingFileError: No such file.
        ArtifactError: Not a driftlens checkpoint, truncated, or with weights that do not fit its model.

    Example:
        >>> model = from_checkpoint("results/demo/checkpoints/epoch_001.pt")  # doctest: +SKIP
    """
    source = f"the checkpoint of epoch {checkpoint.epoch}" if isinstance(checkpoint, Checkpoint) else checkpoint
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = read_checkpoint(checkpoint)
    name = checkpoint.model_name
    spec = spec_for(name)
    model = _wrap(_from_state(spec, name, checkpoint.model, source), name, spec).eval()
    model.epoch = checkpoint.epoch
    return model
