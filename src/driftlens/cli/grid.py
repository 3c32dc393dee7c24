"""``driftlens grid``: render rows (``.npz``) into one labelled grid, e.g. ``merged.png``.

With ``--change``, cells of channels judged changed at that epoch are framed, and a last row shows a
second seed of the last epoch, so a reader sees how much a picture varies with the seed alone. With
``--screen``, each column is labelled with why it is shown: the channel's rank by change among the
layer's channels and its rank shift, at the screen's last epoch.
"""


from driftlens.artifacts import read_change_table, read_row, read_screen_table
from driftlens.grids import image_grid
from driftlens.io import save_image


def add_parser(subparsers):
    """Register ``grid``."""
    parser = subparsers.add_parser("grid")
    parser.add_argument("--rows", nargs="+", required=True, help="render rows (.npz), one grid row each")
    parser.add_argument("--label-layers", action="store_true", help="put the layer name in each row label")
    parser.add_argument("--change", help="the layer's change.csv: frame changed cells, add a second-seed row")
    parser.add_argument("--screen", help="the layer's screen.csv: label each column with its rank and rank shift")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.set_defaults(func=run)


def run(args):
    """Write the grid."""
    rows = [read_row(path) for path in args.rows]
    labels = [f"{row.layer}  epoch {row.epoch}" if args.label_layers else f"epoch {row.epoch}" for row in rows]
    same_channels = all(row.channels == rows[0].channels for row in rows)
    columns = [f"ch {c}" for c in rows[0].channels] if same_channels else None
    if args.screen and same_channels:
        from driftlens.change.screen import channel_labels

        columns = channel_labels(read_screen_table(args.screen, layer=rows[0].layer), rows[0].channels)
    if not same_channels:
        labels = [f"{label}  ch {','.join(map(str, row.channels))}" for label, row in zip(labels, rows)]
    images = [row.first_seed for row in rows]
    framed, caption = (), None
    if args.change:
        framed = changed_cells(read_change_table(args.change, layer=rows[0].layer), rows)
        last = rows[-1]
        images.append(last.images[1])
        labels.append(f"epoch {last.epoch}, seed {last.seeds[1]}")
        caption = (f"Layer {last.layer}. Rows: seed {last.seeds[0]}; last row: another seed. Red frame: changed (screen or render "
                   f"verdict, change.csv); {len(framed)} of {len(rows) * len(last.channels)} cells.")
        if args.screen:
            caption += " Columns: channel (* changed), its rank by change in the layer, its rank shift."
    save_image(image_grid(images, labels, columns, framed=framed, caption=caption), args.output)


def changed_cells(table, rows) -> list[tuple[int, int]]:
    """The ``(row, column)`` cells of ``rows`` whose channel the change table judges changed at that epoch.

    Example:
        >>> import pandas as pd
        >>> from driftlens.artifacts import RenderedRow
        >>> import numpy as np
        >>> rows = [RenderedRow(np.zeros((2, 2, 4, 4, 3)), [5, 7], [0, 1], "conv2", e) for e in (0, 2)]
        >>> table = pd.DataFrame({"epoch": [0, 0, 2, 2], "channel": [5, 7, 5, 7], "changed": [False] * 3 + [True]})
        >>> changed_cells(table, rows)
        [(1, 1)]
    """
    changed = {(int(e), int(c)) for e, c, flag in zip(table.epoch, table.channel, table.changed) if flag}
    return [(i, j) for i, row in enumerate(rows) for j, c in enumerate(row.channels) if (row.epoch, c) in changed]
