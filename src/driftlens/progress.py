"""Progress bars that read well both on a terminal and in a log file.

On a terminal (or in a notebook) a bar is tqdm's usual one, redrawn in place. Written anywhere else,
a Snakemake job's log for instance, redrawing would fill the file with carriage-return frames;
there a bar prints one plain line every :data:`LOG_PERCENT` percent (every :data:`LOG_SECONDS`
seconds when the total is unknown), and its last state when it closes.
"""

import sys

from tqdm import autonotebook
from tqdm.std import tqdm as Bar

LOG_PERCENT = 5
LOG_SECONDS = 30.0


class _Lines:
    """A text stream that receives tqdm's ``\\r``-redrawn status and writes each state as a line."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def bar(iterable=None, *, total=None, disable: bool = False, file=None, **kwargs) -> Bar:
    """A tqdm progress bar: redrawn on a terminal, a line every few percent elsewhere.

    Every progress bar of driftlens is made here.

    Args:
        iterable (iterable, optional): What to iterate over. Default: None (call ``update`` by hand)
        total (int, optional): Number of steps. Default: ``len(iterable)`` where it has one
        disable (bool, optional): No output at all. Default: False
        file (text stream, optional): Where to write. Default: ``sys.stderr``
        **kwargs: Passed to tqdm (``desc``, ``unit``, ``leave``, ...).

    Returns:
        tqdm.std.tqdm: The bar.

    Example:
        >>> import io
        >>> log = io.StringIO()
        >>> for _ in bar(range(100), desc="work", file=log):
        ...     pass
        >>> lines = log.getvalue().splitlines()
        >>> len(lines) <= 22, chr(13) in log.getvalue(), lines[-1].startswith("work: 100%")
        (True, False, True)
    """
    stream = file if file is not None else sys.stderr
    if autonotebook.tqdm is not Bar or _is_terminal(stream):  # a notebook's widget, or a terminal
        return autonotebook.tqdm(iterable, total=total, disable=disable, file=file, **kwargs)
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    pace = {"miniters": max(1, total * LOG_PERCENT // 100), "mininterval": 0} if total else \
        {"miniters": 1, "mininterval": LOG_SECONDS}
    return Bar(iterable, total=total, disable=disable, file=_Lines(stream), **{**pace, **kwargs})


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
