"""The channel spec, the one value that travels from the config to ``driftlens select-channels`` as text.

The config's ``visualize.channels`` is a list of indices, ``{top_k: K}``, or ``{most_changed: K, least_changed: M}``
(optionally with ``epoch: E``). On the command line it is ``0,1,2``, ``top_k:K`` or
``most_changed:K,least_changed:M[,epoch:E]``. :func:`channel_spec_text` writes that text and
:func:`parse_channel_spec` reads it back, so the two forms are defined here only.

Example:
    >>> parse_channel_spec(channel_spec_text({"most_changed": 2, "least_changed": 1}, epoch=3))
    {'most_changed': 2, 'least_changed': 1, 'epoch': 3}
"""

from driftlens.errors import ConfigError

FORMS = "a list like 0,1,2; top_k:K; or most_changed:K,least_changed:M[,epoch:E]"
"""The spec's three text forms, as help texts and errors name them."""

FIELDS = ("top_k", "most_changed", "least_changed", "epoch")
"""The order the text writes a spec's fields in, whatever the config's order (the command line is then stable)."""


def channel_spec_text(channels, epoch: int | None = None) -> str:
    """The command-line text of a config's ``visualize.channels``.

    Args:
        channels (list[int] or dict): Indices, ``{"top_k": K}`` or ``{"most_changed": K, "least_changed": M}``.
        epoch (int, optional): The screen epoch most_changed channels are chosen from (the config's ``epoch`` key,
            or the workflow's default, the last epoch). Default: None (not written)

    Returns:
        str: ``0,1,2``, ``top_k:K`` or ``most_changed:K,least_changed:M[,epoch:E]``, fields in :data:`FIELDS` order.

    Example:
        >>> channel_spec_text([0, 5]), channel_spec_text({"least_changed": 1, "most_changed": 2}, epoch=4)
        ('0,5', 'most_changed:2,least_changed:1,epoch:4')
    """
    if not isinstance(channels, dict):
        return ",".join(map(str, channels))
    fields = {**channels, **({"epoch": epoch} if epoch is not None else {})}
    return ",".join(f"{key}:{fields[key]}" for key in FIELDS if key in fields)


def parse_channel_spec(text: str):
    """Read a channel spec's text back into its config form.

    Args:
        text (str): ``0,1,2``, ``top_k:K`` or ``most_changed:K,least_changed:M[,epoch:E]``.

    Returns:
        list[int] or dict: The indices, ``{"top_k": K}``, or ``{"most_changed": K, "least_changed": M}`` with
        ``"epoch"`` when given.

    Raises:
        ConfigError: Text in none of the three forms.

    Example:
        >>> parse_channel_spec("0,3"), parse_channel_spec("top_k:8")
        ([0, 3], {'top_k': 8})
    """
    try:
        if ":" not in text:
            return [int(index) for index in text.split(",")]
        fields = {key: int(value) for key, value in (item.split(":") for item in text.split(","))}
    except ValueError:
        raise ConfigError(f"channels must be {FORMS}, got {text!r}") from None
    if set(fields) in ({"top_k"}, {"most_changed", "least_changed"}, {"most_changed", "least_changed", "epoch"}):
        return fields
    raise ConfigError(f"channels must be {FORMS}, got {text!r}")
