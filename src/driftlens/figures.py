"""Figures: labelled image grids, change plots and the pieces of the report."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from driftlens.io import to_uint8


def image_grid(rows, row_labels=None, col_labels=None, gap: int = 2, label_size: int = 12) -> Image.Image:
    """Tile rows of equally sized images into one picture, with optional row and column labels.

    Args:
        rows (list[np.ndarray]): One ``(N, H, W, 3)`` float array in [0, 1] (or uint8) per row; all
            rows share ``H`` and ``W``. A shorter row leaves blank cells.
        row_labels (list[str], optional): Written left of each row. Default: None
        col_labels (list[str], optional): Written above each column. Default: None
        gap (int, optional): White pixels between cells. Default: 2
        label_size (int, optional): Font size of the labels. Default: 12

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
    top = label_size + 2 * gap if col_labels else 0
    canvas = Image.new("RGB", (left + columns * (width + gap) + gap, top + len(rows) * (height + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    for i, row in enumerate(rows):
        y = top + gap + i * (height + gap)
        if row_labels:
            draw.text((gap, y + height // 2), str(row_labels[i]), fill="black", font=font, anchor="lm")
        for j, cell in enumerate(row):
            canvas.paste(Image.fromarray(cell), (left + gap + j * (width + gap), y))
    for j, label in enumerate(col_labels or []):
        draw.text((left + gap + j * (width + gap) + width // 2, gap), str(label), fill="black", font=font, anchor="mt")
    return canvas


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no scalable default font
        return ImageFont.load_default()


def _text_width(labels, font) -> int:
    return int(max(font.getlength(str(label)) for label in labels))
