"""Progress bars: redrawn on a terminal, one line every few percent in a log file."""

import io

from driftlens.progress import LOG_PERCENT, bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_file_gets_a_line_every_few_percent_and_no_carriage_returns():
    log = io.StringIO()
    for _ in bar(range(1000), desc="train", file=log):
        pass
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert 100 // LOG_PERCENT <= len(lines) <= 100 // LOG_PERCENT + 3
    assert lines[0].startswith("train:   0%") and lines[-1].startswith("train: 100%")


def test_a_bar_without_total_in_a_log_file_prints_lines():
    log = io.StringIO()
    with bar(desc="steps", file=log) as progress:
        progress.update(3)
    assert "\r" not in log.getvalue() and log.getvalue().splitlines()[-1].startswith("steps: 3it")


def test_a_terminal_gets_a_bar_redrawn_in_place():
    screen = _Terminal()
    for _ in bar(range(50), desc="render", file=screen, mininterval=0):
        pass
    assert screen.getvalue().count("\r") >= 50


def test_a_disabled_bar_writes_nothing():
    log = io.StringIO()
    for _ in bar(range(10), file=log, disable=True):
        pass
    assert log.getvalue() == ""
