"""The report page: structure, self-containment and errors, from small fake artifacts."""

import base64
import json
import re
from html.parser import HTMLParser
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from driftlens.cli import main
from driftlens.errors import ConfigError, MissingFileError
from driftlens.artifacts import CHANGE_COLUMNS
from driftlens.report import build_report, change_summary, headline, write_report

LAYERS = ["mixed3b", "mixed4c"]
EPOCHS = [0, 1, 2, 3]
CHANNELS = 3


def fake_experiment(root, layers=LAYERS, epochs=EPOCHS, side=8, attribution=False):
    """Write every artifact the report reads into ``root/exp`` and return that folder.

    Pictures are seeded noise of ``side``-pixel cells, different for every file; the cross-activation of
    channel ``c`` at epoch ``e`` is ``1 - 0.1 e - 0.02 c``, and channel 0 is changed from epoch 2 on.
    """
    exp_dir = root / "exp"
    rng = np.random.default_rng(0)

    def picture(path, rows=1, columns=CHANNELS):
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (rows * side, columns * side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)

    for layer in layers:
        for epoch in epochs:
            picture(exp_dir / layer / f"epoch_{epoch:03d}.png")
        picture(exp_dir / layer / "merged.png", rows=len(epochs))
        picture(exp_dir / layer / "exemplars.png", rows=2 * CHANNELS, columns=6)
        rows = [{"epoch": e, "channel": c, "cross_activation": 1 - 0.1 * e - 0.02 * c, "cross_activation_noise": 1.0,
                 "cross_activation_noise_low": 0.9, "exemplar_rho": 1 - 0.05 * e, "exemplar_jaccard": 1.0,
                 "ssim_to_first": 1 - 0.1 * e, "ssim_noise": 0.8, "perceptual_to_first": 0.1 * e,
                 "perceptual_noise": 0.04, "p_value": 0.01, "q_value": 0.02, "changed": c == 0 and e >= 2}
                for e in epochs for c in range(CHANNELS)]
        pd.DataFrame(rows, columns=CHANGE_COLUMNS).to_csv(exp_dir / layer / "change.csv", index=False)
    for name in ("before_after", "change", "training"):
        picture(exp_dir / f"{name}.png", rows=2)
    for epoch in epochs:
        metrics = {"epoch": epoch, "stage": 0, "train_loss": None if epoch == 0 else 1.0 / epoch,
                   "train_acc": None if epoch == 0 else 0.5 + 0.1 * epoch, "val_loss": 2.0 - 0.1 * epoch,
                   "val_acc": 0.25 + 0.125 * epoch, "test_acc": 0.2 + 0.125 * epoch, "seconds": 1.5,
                   "images_per_s": 100.0, "lr": 0.01}
        path = exp_dir / "metrics" / f"epoch_{epoch:03d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(metrics))
    (exp_dir / "config.json").write_text(json.dumps({"model": "tiny", "weights": "random", "seed": 1234567}))
    if attribution:
        for name in ("merged", "drift"):
            picture(exp_dir / "attribution" / f"{name}.png")
    return exp_dir


class PageParts(HTMLParser):
    """Collects the attributes of every tag, grouped by tag name, and the text of each <script>."""

    def __init__(self, html):
        super().__init__()
        self.tags, self.scripts, self._in_script = {}, [], False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.setdefault(tag, []).append(dict(attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def frames_of(parts):
    """The per-layer epoch frames embedded as JSON in the page."""
    return [json.loads(text) for text in parts.scripts if text.lstrip().startswith("[")]


def encoded(path):
    return base64.b64encode(path.read_bytes()).decode("ascii")


@pytest.fixture
def exp_dir(tmp_path):
    return fake_experiment(tmp_path)


def test_every_picture_is_embedded_as_a_data_uri(exp_dir):
    html = build_report(exp_dir, LAYERS, EPOCHS)
    parts = PageParts(html)
    assert all(img["src"].startswith("data:image/png;base64,") for img in parts.tags["img"])
    for png in exp_dir.rglob("*.png"):
        assert encoded(png) in html, png
    shown = {img["src"] for img in parts.tags["img"]}
    assert {f"data:image/png;base64,{encoded(exp_dir / name)}" for name in
            ["before_after.png", "change.png", "training.png", "mixed3b/merged.png", "mixed4c/merged.png"]} <= shown


def test_page_loads_nothing_from_elsewhere(exp_dir):
    html = build_report(exp_dir, LAYERS, EPOCHS)
    parts = PageParts(html)
    references = [attrs[key] for attrs_list in parts.tags.values() for attrs in attrs_list
                  for key in ("src", "href") if key in attrs]
    assert references
    assert all(ref.startswith(("data:", "#")) for ref in references), references
    assert not re.search(r"https?://|@import|url\(", html)


def test_slider_has_one_position_per_epoch(tmp_path):
    epochs = [0, 2, 5]
    html = build_report(fake_experiment(tmp_path, epochs=epochs), LAYERS, epochs)
    parts = PageParts(html)
    sliders = [attrs for attrs in parts.tags["input"] if attrs["type"] == "range"]
    assert [(s["min"], s["max"]) for s in sliders] == [("0", str(len(epochs) - 1))] * len(LAYERS)
    frames = frames_of(parts)
    assert [[frame["epoch"] for frame in layer] for layer in frames] == [epochs] * len(LAYERS)
    assert len({frame["src"] for layer in frames for frame in layer}) == len(epochs) * len(LAYERS)
    assert len(parts.tags["button"]) == len(LAYERS)


def test_config_versions_and_final_accuracy_are_shown(exp_dir):
    html = build_report(exp_dir, LAYERS, EPOCHS)
    assert "1234567" in html and "&#34;weights&#34;: &#34;random&#34;" in html
    for package in ("torch", "torchvision", "numpy", "scikit-image", "snakemake", "driftlens"):
        assert f"<th>{package}</th><td>{metadata.version(package)}</td>" in html
    assert "<th>python</th>" in html
    assert ">0.625</div><div class=\"name\">validation accuracy, epoch 3" in html
    assert ">0.575</div><div class=\"name\">test accuracy, epoch 3" in html


def test_change_summary_counts_changed_channels_and_reads_the_noise_floor(exp_dir):
    summary = change_summary(exp_dir / "mixed4c" / "change.csv", EPOCHS)
    for epoch in EPOCHS:
        assert summary["by_epoch"][epoch]["changed"] == int(epoch >= 2)
        assert summary["by_epoch"][epoch]["channels"] == CHANNELS
        assert summary["by_epoch"][epoch]["cross_activation"] == pytest.approx(1 - 0.1 * epoch - 0.02)
    assert summary["noise_low"] == 0.9


def test_headline_states_accuracy_and_channels_changed_per_layer(exp_dir):
    html = build_report(exp_dir, LAYERS, EPOCHS)
    assert "Validation accuracy went from 0.25 at epoch 0 to 0.625 at epoch 3." in html
    for layer in LAYERS:
        assert f"{layer}: 1 of 3 channels changed beyond seed noise by epoch 3" in html
    assert "seed noise reaches down to 0.9" in html


def test_attribution_is_shown_only_when_asked_for_and_then_required(tmp_path, exp_dir):
    with_attribution = fake_experiment(tmp_path / "other", attribution=True)
    stale = build_report(with_attribution, LAYERS, EPOCHS)  # files of an earlier run with attribution on
    assert "Attribution" not in stale and encoded(with_attribution / "attribution" / "merged.png") not in stale
    html = build_report(with_attribution, LAYERS, EPOCHS, attribution=True)
    assert encoded(with_attribution / "attribution" / "merged.png") in html
    assert encoded(with_attribution / "attribution" / "drift.png") not in html  # the change figure's last panel
    with pytest.raises(MissingFileError, match=r"attribution/merged\.png"):
        build_report(exp_dir, LAYERS, EPOCHS, attribution=True)


def test_missing_artifacts_are_named(exp_dir):
    (exp_dir / "mixed4c" / "epoch_002.png").unlink()
    (exp_dir / "metrics" / "epoch_003.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"mixed4c/epoch_002\.png.*metrics/epoch_003\.json"):
        build_report(exp_dir, LAYERS, EPOCHS)


def test_incomplete_metrics_are_named(exp_dir):
    (exp_dir / "metrics" / "epoch_001.json").write_text(json.dumps({"epoch": 1}))
    with pytest.raises(ValueError, match=r"epoch_001\.json lacks the key\(s\) stage"):
        build_report(exp_dir, LAYERS, EPOCHS)


def test_incomplete_change_table_is_named(exp_dir):
    pd.DataFrame({"epoch": [0]}).to_csv(exp_dir / "mixed3b" / "change.csv", index=False)
    with pytest.raises(ValueError, match=r"mixed3b/change\.csv is not a change table: no column channel"):
        build_report(exp_dir, LAYERS, EPOCHS)


@pytest.mark.parametrize("layers, epochs", [([], EPOCHS), (LAYERS, []), (LAYERS, [0, 2, 1])])
def test_bad_selection_is_a_config_error(exp_dir, layers, epochs):
    with pytest.raises(ConfigError):
        build_report(exp_dir, layers, epochs)


def test_cli_writes_the_page_and_reports_missing_files_in_one_line(exp_dir, tmp_path, capsys):
    out = tmp_path / "page" / "report.html"
    args = ["report", "--exp-dir", str(exp_dir), "--layers", "mixed3b,mixed4c", "--epochs", "0,1,2,3"]
    assert main(args + ["-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == build_report(exp_dir, LAYERS, EPOCHS)
    assert main(args[:-1] + ["0,1,2,3,4", "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("driftlens: error:") and "epoch_004.png" in error and error.count("\n") == 1


def test_write_report_replaces_the_page_whole(exp_dir):
    path = exp_dir / "report.html"
    path.write_text("old")
    assert write_report(exp_dir, LAYERS, [0, 1], path) == path
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in exp_dir.glob(".report*")] == []
