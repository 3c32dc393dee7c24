"""Vision-transformer tokens as feature maps: the one rule by which a token layer gets channels and positions.

A transformer layer outputs ``(B, N, C)``: ``N`` tokens of ``C`` features. driftlens treats it like a
convolutional layer's ``(B, C, h, w)`` map so that channel objectives, channel means, Grad-CAM and
style losses work unchanged. The rule:

1. the first ``prefix`` tokens are dropped: the class token and any register or distillation tokens
   (timm's ``num_prefix_tokens``; torchvision's ViT has one class token);
2. the remaining tokens are the patch grid in row-major order, and the grid is square: ``h = w =
   sqrt(N - prefix)``. A layer without prefix tokens (a patch embedding) is a square grid of all
   ``N`` tokens;
3. channels are the token features: ``maps[b, c, i, j] = tokens[b, prefix + i * w + j, c]``.

Any other 3-D output (token counts that are no square grid) is left as it is. Capturing with
gradients, the layer's output is replaced by the same values rebuilt from the maps, so that the
maps lie on the path to the score and Grad-CAM can differentiate with respect to them.
"""

import math

import torch


def prefix_tokens(net: torch.nn.Module) -> int:
    """How many leading tokens of ``net``'s token layers are not patches (class, register tokens).

    Example:
        >>> prefix_tokens(torch.nn.Linear(2, 2))
        0
    """
    if hasattr(net, "num_prefix_tokens"):  # timm
        return int(net.num_prefix_tokens)
    return 1 if hasattr(net, "class_token") else 0  # torchvision's VisionTransformer


def token_grid(tokens: int, prefix: int) -> tuple[int, int] | None:
    """``(prefix tokens to drop, grid side)`` for ``tokens`` tokens, or None when they form no square grid.

    Example:
        >>> token_grid(197, 1), token_grid(196, 1), token_grid(12, 1)
        ((1, 14), (0, 14), None)
    """
    for drop in dict.fromkeys((prefix, 0)):
        side = math.isqrt(max(tokens - drop, 0))
        if side > 0 and side * side == tokens - drop:
            return drop, side
    return None


def tokens_to_maps(tokens: torch.Tensor, prefix: int) -> torch.Tensor | None:
    """``(B, N, C)`` tokens as ``(B, C, h, w)`` maps by the rule of this module, or None if they are no grid.

    Args:
        tokens (torch.Tensor): A transformer layer's ``(B, N, C)`` output.
        prefix (int): Leading non-patch tokens (see :func:`prefix_tokens`).

    Returns:
        torch.Tensor or None: ``(B, C, h, w)``, a view of the patch tokens.

    Example:
        >>> tokens = torch.arange(2 * 5 * 3.).view(2, 5, 3)  # a class token and a 2 x 2 grid
        >>> maps = tokens_to_maps(tokens, prefix=1)
        >>> maps.shape, maps[0, 2, 0, 1].item() == tokens[0, 2, 2].item()
        (torch.Size([2, 3, 2, 2]), True)
    """
    grid = token_grid(tokens.shape[1], prefix) if tokens.dim() == 3 else None
    if grid is None:
        return None
    drop, side = grid
    return tokens[:, drop:].transpose(1, 2).unflatten(2, (side, side))


def maps_to_tokens(maps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The ``(B, N, C)`` tokens again, their patch part taken from ``maps`` (inverse of :func:`tokens_to_maps`).

    Example:
        >>> tokens = torch.rand(1, 5, 3)
        >>> torch.equal(maps_to_tokens(tokens_to_maps(tokens, 1), tokens), tokens)
        True
    """
    patches = maps.flatten(2).transpose(1, 2)
    return torch.cat([tokens[:, :tokens.shape[1] - patches.shape[1]], patches], dim=1)
