"""The report page: structure, self-containment and errors, from small fake artifacts."""

import base64
import json
import os
import re
from html.parser import HTMLParser
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from driftlens.cli import main
from driftlens.errors import ArtifactError, ConfigError, MissingFileError
from driftlens.artifacts import CHANGE_COLUMNS, write_change_table, write_representation, write_screen_table
from driftlens.change.screen import screen_table
from driftlens.report import FIGURES, ReportFiles, build_report, change_summary, write_report

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
                 "perceptual_noise": 0.04, "p_value": 0.01, "q_value": 0.02, "render_changed": c == 0 and e >= 2,
                 "rank_shift": 0.01, "screen_q_value": 1.0, "screen_changed": False, "changed": c == 0 and e >= 2,
                 "evidence": "render" if c == 0 and e >= 2 else "none"}
                for e in epochs for c in range(CHANNELS)]
        write_change_table(exp_dir / layer / "change.csv", pd.DataFrame(rows, columns=CHANGE_COLUMNS), layer)
    for layer in [*layers, SCREENED]:
        write_screen_table(exp_dir / layer / "screen.csv", fake_screen(layer, epochs), layer)
        picture(exp_dir / layer / "volcano.png")
    for epoch in epochs:  # SCREENED never trains: its weights never move
        write_representation(exp_dir / "representation" / f"epoch_{epoch:03d}.json", epoch,
                             {"cka": {layer: 1.0 for layer in [*layers, SCREENED]},
                              "weight_change": {**{layer: 0.1 * epoch for layer in layers}, SCREENED: 0.0},
                              "estimator": "debiased"})
    for name in FIGURES:
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


SCREENED = "mixed5b"
"""A layer that is screened but not rendered, and never trains."""


def fake_screen(layer, epochs, channels=16):
    """A screen in which 4 channels of a trained layer re-rank the probe images from epoch 1 on (none of SCREENED)."""
    rng = np.random.default_rng(1)
    first = rng.normal(size=(64, channels))
    by_epoch = {}
    for epoch in epochs:
        later = first.copy()
        if epoch and layer != SCREENED:
            later[:, :4] = rng.normal(size=(64, 4))
        by_epoch[epoch] = later
    return screen_table(by_epoch)


def files_of(exp_dir, layers=LAYERS, epochs=EPOCHS, attribution=False, benchmarks=()):
    """The :class:`ReportFiles` of a :func:`fake_experiment` folder, as the workflow's report rule names them."""
    return ReportFiles(
        frames={layer: [exp_dir / layer / f"epoch_{epoch:03d}.png" for epoch in epochs] for layer in layers},
        merged={layer: exp_dir / layer / "merged.png" for layer in layers},
        exemplars={layer: exp_dir / layer / "exemplars.png" for layer in layers},
        change={layer: exp_dir / layer / "change.csv" for layer in layers},
        figures={name: exp_dir / f"{name}.png" for name in FIGURES},
        metrics=[exp_dir / "metrics" / f"epoch_{epoch:03d}.json" for epoch in epochs],
        config=exp_dir / "config.json",
        attribution={"merged": exp_dir / "attribution" / "merged.png"} if attribution else {},
        benchmarks=list(benchmarks),
        screens={layer: exp_dir / layer / "screen.csv" for layer in [*layers, SCREENED]},
        volcanoes={layer: exp_dir / layer / "volcano.png" for layer in [*layers, SCREENED]},
        representation=[exp_dir / "representation" / f"epoch_{epoch:03d}.json" for epoch in epochs])


def page(exp_dir, layers=LAYERS, epochs=EPOCHS, **options):
    return build_report("exp", layers, epochs, files_of(exp_dir, layers, epochs, **options))


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
    html = page(exp_dir)
    parts = PageParts(html)
    assert all(img["src"].startswith("data:image/png;base64,") for img in parts.tags["img"])
    for png in exp_dir.rglob("*.png"):
        assert encoded(png) in html, png
    shown = {img["src"] for img in parts.tags["img"]}
    assert {f"data:image/png;base64,{encoded(exp_dir / name)}" for name in
            ["before_after.png", "change.png", "training.png", "mixed3b/merged.png", "mixed4c/merged.png"]} <= shown


def test_page_loads_nothing_from_elsewhere(exp_dir):
    html = page(exp_dir)
    parts = PageParts(html)
    references = [attrs[key] for attrs_list in parts.tags.values() for attrs in attrs_list
                  for key in ("src", "href") if key in attrs]
    assert references
    assert all(ref.startswith(("data:", "#")) for ref in references), references
    assert not re.search(r"https?://|@import|url\(", html)


def test_slider_has_one_position_per_epoch(tmp_path):
    epochs = [0, 2, 5]
    html = page(fake_experiment(tmp_path, epochs=epochs), epochs=epochs)
    parts = PageParts(html)
    sliders = [attrs for attrs in parts.tags["input"] if attrs["type"] == "range"]
    assert [(s["min"], s["max"]) for s in sliders] == [("0", str(len(epochs) - 1))] * len(LAYERS)
    frames = frames_of(parts)
    assert [[frame["epoch"] for frame in layer] for layer in frames] == [epochs] * len(LAYERS)
    assert len({frame["src"] for layer in frames for frame in layer}) == len(epochs) * len(LAYERS)
    assert len(parts.tags["button"]) == len(LAYERS)


def test_config_versions_and_final_accuracy_are_shown(exp_dir):
    html = page(exp_dir)
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
    html = page(exp_dir)
    assert "Validation accuracy went from 0.25 at epoch 0 to 0.625 at epoch 3." in html
    atlas = re.search(r"Change atlas \(every channel, render-free\): (.*?)\. A channel counts", html).group(1)
    for layer in LAYERS:  # the headline reads the screens: 4 of 16 channels re-ranked their images
        assert f"{layer}: 4 of 16 channels changed by epoch 3" in atlas
        assert f"Rendered channels of {layer}: 1 of 3 changed by epoch 3" in html
    assert f"{SCREENED}, frozen: 0 of 16 channels changed by epoch 3" in atlas  # weights never moved
    assert "seed noise down to 0.9" in html


def test_attribution_is_shown_only_when_given_and_then_required(tmp_path, exp_dir):
    with_attribution = fake_experiment(tmp_path / "other", attribution=True)
    stale = page(with_attribution)  # files of an earlier run with attribution on, not given
    assert "Attribution" not in stale and encoded(with_attribution / "attribution" / "merged.png") not in stale
    html = page(with_attribution, attribution=True)
    assert encoded(with_attribution / "attribution" / "merged.png") in html
    assert encoded(with_attribution / "attribution" / "drift.png") not in html  # the change figure's last panel
    with pytest.raises(MissingFileError, match=r"attribution/merged\.png"):
        page(exp_dir, attribution=True)


def test_only_the_given_files_are_shown(exp_dir):
    files = files_of(exp_dir, epochs=[0, 3])
    html = build_report("exp", LAYERS, [0, 3], files)
    for png in exp_dir.rglob("*.png"):
        assert (encoded(png) in html) == (png in files.paths()), png


def test_missing_artifacts_are_named(exp_dir):
    (exp_dir / "mixed4c" / "epoch_002.png").unlink()
    (exp_dir / "metrics" / "epoch_003.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"mixed4c/epoch_002\.png.*metrics/epoch_003\.json"):
        page(exp_dir)


def test_incomplete_metrics_are_named(exp_dir):
    (exp_dir / "metrics" / "epoch_001.json").write_text(json.dumps({"epoch": 1}))
    with pytest.raises(ArtifactError, match=r"epoch_001\.json is not a metrics file: it lacks the key\(s\) stage"):
        page(exp_dir)


def test_metrics_of_another_epoch_are_refused(exp_dir):
    files = files_of(exp_dir)
    files.metrics[1], files.metrics[2] = files.metrics[2], files.metrics[1]
    with pytest.raises(ArtifactError, match=r"epoch_002\.json holds the metrics of epoch 2, not of epoch 1"):
        build_report("exp", LAYERS, EPOCHS, files)


def test_another_layers_change_table_is_refused(exp_dir):
    files = files_of(exp_dir)
    files.change["mixed3b"] = files.change["mixed4c"]
    with pytest.raises(ArtifactError, match="mixed4c/change.csv is the change table of layer mixed4c, not of mixed3b"):
        build_report("exp", LAYERS, EPOCHS, files)


def test_incomplete_change_table_is_named(exp_dir):
    pd.DataFrame({"epoch": [0]}).to_csv(exp_dir / "mixed3b" / "change.csv", index=False)
    with pytest.raises(ValueError, match=r"mixed3b/change\.csv is not a change table: no column layer, channel"):
        page(exp_dir)


@pytest.mark.parametrize("layers, epochs", [([], EPOCHS), (LAYERS, []), (LAYERS, [0, 2, 1])])
def test_bad_selection_is_a_config_error(exp_dir, layers, epochs):
    with pytest.raises(ConfigError):
        build_report("exp", layers, epochs, files_of(exp_dir))


@pytest.mark.parametrize("layers, epochs, match", [
    (["mixed4c", "mixed3b"], EPOCHS, "shows layers mixed4c, mixed3b but has frames for mixed3b, mixed4c"),
    (LAYERS, [0, 1, 2], "shows 3 epochs but has 4 frames of mixed3b")])
def test_files_that_do_not_match_the_selection_are_refused(exp_dir, layers, epochs, match):
    with pytest.raises(ConfigError, match=match):
        build_report("exp", layers, epochs, files_of(exp_dir))


def test_pipeline_wall_time_spans_the_jobs_records(exp_dir, tmp_path):
    records = []
    for name, seconds, end in (("train.tsv", 100.0, 1_000_000.0), ("render.tsv", 50.0, 1_000_300.0)):
        path = tmp_path / "benchmarks" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{seconds}\t0:00:00\t1.0\t{seconds / 2}\n")
        os.utime(path, (end, end))
        records.append(path)
    html = page(exp_dir, benchmarks=records)  # first start 999 900, last end 1 000 300: 400 s
    assert ">6.667</div><div class=\"name\">pipeline wall time, first of 2 jobs&#39; start" in html
    assert "pipeline wall time" not in page(exp_dir)
    records[0].write_text("not,a,record\n")
    with pytest.raises(ArtifactError, match="train.tsv is not a Snakemake benchmark record"):
        page(exp_dir, benchmarks=records)


def cli_args(exp_dir, layers=LAYERS, epochs=EPOCHS):
    files = files_of(exp_dir, layers, epochs)
    return ["report", "--title", "exp", "--layers", ",".join(layers), "--epochs", ",".join(map(str, epochs)),
            "--frames", *map(str, [path for layer in layers for path in files.frames[layer]]),
            "--merged", *map(str, files.merged.values()), "--exemplars", *map(str, files.exemplars.values()),
            "--change", *map(str, files.change.values()), "--before-after", str(files.figures["before_after"]),
            "--change-plot", str(files.figures["change"]), "--training-plot", str(files.figures["training"]),
            "--depth-plot", str(files.figures["depth"]),
            "--screens", *[f"{layer}={path}" for layer, path in files.screens.items()],
            "--volcanoes", *[f"{layer}={path}" for layer, path in files.volcanoes.items()],
            "--representation", *map(str, files.representation),
            "--metrics", *map(str, files.metrics), "--config", str(files.config)]


def test_cli_writes_the_page_from_the_files_it_names(exp_dir, tmp_path, capsys):
    out = tmp_path / "page" / "report.html"
    assert main(cli_args(exp_dir) + ["-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == page(exp_dir)
    assert capsys.readouterr().err.startswith("driftlens: report done in ")
    (exp_dir / "mixed4c" / "epoch_002.png").unlink()
    assert main(cli_args(exp_dir) + ["-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("driftlens: error:") and "epoch_002.png" in error and error.count("\n") == 1


def test_cli_counts_the_files_per_layer(exp_dir, capsys):
    args = cli_args(exp_dir)
    args.remove(str(exp_dir / "mixed4c" / "merged.png"))
    assert main(args + ["-o", "unused.html"]) == 2
    assert "--merged needs 1 file(s) for each of the 2 layers (2), got 1" in capsys.readouterr().err


def test_write_report_replaces_the_page_whole(exp_dir):
    path = exp_dir / "report.html"
    path.write_text("old")
    assert write_report("exp", LAYERS, [0, 1], files_of(exp_dir, epochs=[0, 1]), path) == path
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in exp_dir.glob(".report*")] == []


def test_the_feature_diff_gets_its_section_and_its_counts_in_the_headline(exp_dir, tmp_path):
    from driftlens.report import ReportFiles, build_report

    summary = {"epochs": [0, 3], "counts": {"new": 2, "lost": 1, "strengthened": 5, "weakened": 6, "rotated": 4,
                                            "rewired": 7, "shared": 22, "dead": 3}, "latents": 50,
               "variance_explained": {"0": 0.81, "3": 0.84}, "pca_variance_explained": {"0": 0.6, "3": 0.62},
               "dead_fraction": 0.06, "nulls": {"noise": {"exclusive_by_minimum_effect": 0, "latents": 48}}}
    (tmp_path / "features.json").write_text(json.dumps(summary))
    base = files_of(exp_dir)
    with_features = ReportFiles(**{**base.__dict__, "features": {LAYERS[0]: tmp_path / "features.json"},
                                   "feature_figures": {LAYERS[0]: base.figures["depth"]}})
    html = build_report("demo", LAYERS, EPOCHS, with_features)
    assert f"{LAYERS[0]}: 2 new, 1 lost, 5 strengthened, 6 weakened, 4 rotated, 7 rewired of 47 active latents " \
        "(epochs 0, 3)" in html
    assert "<th>rewired</th>" in html and "<td>7</td>" in html
    assert "What fine-tuning added and removed" in html and "0 of 48" in html
    assert "What fine-tuning added and removed" not in build_report("demo", LAYERS, EPOCHS, base)
