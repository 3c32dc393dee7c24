"""Image grids: rows of pictures tiled into one labelled image (``merged.png``, exemplars, attribution grids).

Only Pillow and numpy: the render and attribution jobs that write grids start without matplotlib.

Example:
    >>> grid = image_grid([np.zeros((2, 8, 8, 3))], ["epoch 0"], ["ch 0", "ch 1"])
    >>> grid.size[0] > 16
    True
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from driftlens.io import to_uint8


FRAME_COLOUR = (220, 30, 30)
"""Colour of the frame that marks a cell of an image grid (a channel judged changed)."""


def image_grid(rows, row_labels=None, col_labels=None, gap: int = 2, label_size: int = 12, framed=(),
               caption: str | None = None) -> Image.Image:
    """Tile rows of equally sized images into one picture, with optional row and column labels.

    Args:
        rows (list[np.ndarray]): One ``(N, H, W, 3)`` float array in [0, 1] (or uint8) per row; all
            rows share ``H`` and ``W``. A shorter row leaves blank cells.
        row_labels (list[str], optional): Written left of each row. Default: None
        col_labels (list[str], optional): Written above each column; ``\n`` breaks a label into lines. Default: None
        gap (int, optional): White pixels between cells. Default: 2
        label_size (int, optional): Font size of the labels. Default: 12
        framed (iterable[tuple[int, int]], optional): ``(row, column)`` cells to frame in
            :data:`FRAME_COLOUR`. Default: () (none)
        caption (str, optional): A line of text under the grid. Default: None

    Returns:
        PIL.Image.Image: RGB image.

    Example:
        >>> grid = image_grid([np.zeros((3, 8, 8, 3))] * 2, ["epoch 0", "epoch 1"], ["0", "1", "2"])
        >>> grid.size[1] > 16
        True
    """
    rows = [to_uint8(r) if r.dtype != np.uint8 else r for r in map(np.asarray, rows)]
    height, width = rows[0].shape[1:3]
    columns = max(len(r) for r in rows)
    font = _font(label_size)
    left = _text_width(row_labels, font) + 2 * gap if row_labels else 0
    lines = max((str(label).count("\n") + 1 for label in col_labels or []), default=0)
    top = lines * (label_size + 2) + 2 * gap if col_labels else 0
    grid_width = left + columns * (width + gap) + gap
    caption = _wrap(caption, font, max(grid_width - 2 * gap, 240)) if caption else None
    bottom = (caption.count("\n") + 1) * (label_size + 2) + 4 * gap if caption else 0
    canvas = Image.new("RGB", (max(grid_width, _text_width(caption.split("\n"), font) + 2 * gap if caption else 0),
                               top + len(rows) * (height + gap) + gap + bottom), "white")
    draw = ImageDraw.Draw(canvas)
    for i, row in enumerate(rows):
        y = top + gap + i * (height + gap)
        if row_labels:
            draw.text((gap, y + height // 2), str(row_labels[i]), fill="black", font=font, anchor="lm")
        for j, cell in enumerate(row):
            canvas.paste(Image.fromarray(cell), (left + gap + j * (width + gap), y))
    for j, label in enumerate(col_labels or []):
        draw.multiline_text((left + gap + j * (width + gap) + width // 2, gap), str(label), fill="black", font=font,
                            anchor="ma", align="center", spacing=2)
    thickness = max(2, width // 32)
    for i, j in framed:
        x, y = left + gap + j * (width + gap), top + gap + i * (height + gap)
        draw.rectangle([x, y, x + width - 1, y + height - 1], outline=FRAME_COLOUR, width=thickness)
    if caption:
        draw.multiline_text((gap, canvas.height - bottom + 2 * gap), caption, fill="black", font=font, spacing=2)
    return canvas


def _wrap(text, font, width) -> str:
    """``text`` broken into lines of at most ``width`` pixels in ``font`` (at spaces)."""
    lines = [""]
    for word in text.split():
        candidate = f"{lines[-1]} {word}".strip()
        if lines[-1] and font.getlength(candidate) > width:
            lines.append(word)
        else:
            lines[-1] = candidate
    return "\n".join(lines)


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no scalable default font
        return ImageFont.load_default()


def _text_width(labels, font) -> int:
    return int(max(font.getlength(str(label)) for label in labels))


def exemplar_rows(renders, probe_responses, probe, top_k: int) -> list[np.ndarray]:
    """For each channel: its render followed by the ``top_k`` probe images it responds to most.

    Args:
        renders (np.ndarray): ``(C, h, w, 3)`` one render per channel.
        probe_responses (np.ndarray): ``(N, C)`` the channels' responses to the probe images.
        probe (np.ndarray): ``(N, H, W, 3)`` the probe images; renders are resized to ``H x W``.
        top_k (int): Probe images per row.

    Returns:
        list[np.ndarray]: One ``(1 + top_k, H, W, 3)`` row per channel, strongest probe image first.

    Example:
        >>> rows = exemplar_rows(np.zeros((2, 8, 8, 3)), np.array([[0, 1], [2, 0]]), np.ones((2, 16, 16, 3)), 1)
        >>> len(rows), rows[0].shape
        (2, (2, 16, 16, 3))
    """
    side = probe.shape[1:3]
    rows = []
    for k, render in enumerate(renders):
        picture = np.asarray(Image.fromarray(to_uint8(render)).resize(side[::-1], Image.BILINEAR)) / 255.0
        top = np.argsort(-probe_responses[:, k], kind="stable")[:top_k]
        rows.append(np.concatenate([picture[None], probe[top]]).astype(np.float32))
    return rows
