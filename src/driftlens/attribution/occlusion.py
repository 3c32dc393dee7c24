"""Occlusion (Zeiler & Fergus, 2014): how much the score drops when a square of the image is covered."""

import torch
from driftlens.progress import bar as progress_bar

from driftlens.attribution.base import Attribution, baseline_like, copies_per_pass, forward_scores, repeat_target
from driftlens.errors import ConfigError


def window_starts(side: int, window: int, stride: int) -> list[int]:
    """Offsets of the windows along one side; the last window always touches the far edge.

    Example:
        >>> window_starts(10, 4, 3)
        [0, 3, 6]
        >>> window_starts(11, 4, 3)
        [0, 3, 6, 7]
    """
    starts = list(range(0, side - window + 1, stride))
    if starts[-1] != side - window:
        starts.append(side - window)
    return starts


class Occlusion(Attribution):
    """Score drop when a ``window`` x ``window`` square is replaced by a baseline, averaged per pixel.

    Each pixel's value is the mean of ``score(image) - score(occluded image)`` over the windows that
    cover it: positive where hiding the pixel lowers the score.

    Args:
        window (int, optional): Side of the square in pixels. Default: an eighth of the image side
        stride (int, optional): Step between windows. Default: half the window
        baseline (float, sequence of 3 floats or torch.Tensor, optional): What covers the square,
            see :func:`baseline_like`. Default: 0.5 (mid grey)
        batch_size (int, optional): Images per forward pass. Default: 64
        progress (bool, optional): Show a progress bar. Default: False

    Example:
        >>> import driftlens
        >>> model = driftlens.models.load("tiny", weights="random")
        >>> Occlusion(window=8, stride=4)(model, torch.rand(2, 3, 32, 32), target=0).shape
        torch.Size([2, 32, 32])
    """

    def __init__(self, window: int | None = None, stride: int | None = None, baseline=0.5, batch_size: int = 64,
                 progress: bool = False):
        self.window, self.stride, self.baseline = window, stride, baseline
        self.batch_size, self.progress = batch_size, progress

    def attribute(self, model, inputs, target):
        height, width = inputs.shape[-2:]
        window = self.window or max(1, min(height, width) // 8)
        stride = self.stride or max(1, window // 2)
        if not 0 < window <= min(height, width) or stride < 1:
            raise ConfigError(f"occlusion window {window} and stride {stride} do not fit {height} x {width} images")
        corners = [(y, x) for y in window_starts(height, window, stride) for x in window_starts(width, window, stride)]
        per_pass = copies_per_pass(self.batch_size, len(inputs))
        chunks = [corners[i:i + per_pass] for i in range(0, len(corners), per_pass)]
        baseline = baseline_like(self.baseline, inputs)
        total = torch.zeros(inputs.shape[0], height, width, device=inputs.device)
        count = torch.zeros(height, width, device=inputs.device)
        with torch.no_grad():
            reference, _ = forward_scores(model, inputs, target)
            for chunk in progress_bar(chunks, desc="occlusion", disable=not self.progress):
                drops = reference - self._occluded_scores(model, inputs, baseline, target, chunk, window)
                for drop, (y, x) in zip(drops, chunk):
                    total[:, y:y + window, x:x + window] += drop[:, None, None]
                    count[y:y + window, x:x + window] += 1
        return total / count

    @staticmethod
    def _occluded_scores(model, inputs, baseline, target, corners, window) -> torch.Tensor:
        """Scores ``(len(corners), B)`` of the batch with one square covered per copy."""
        occluded = inputs.repeat(len(corners), 1, 1, 1, 1)
        for copy, (y, x) in zip(occluded, corners):
            copy[..., y:y + window, x:x + window] = baseline[..., y:y + window, x:x + window]
        scores, _ = forward_scores(model, occluded.flatten(0, 1), repeat_target(target, len(corners)))
        return scores.view(len(corners), -1)
