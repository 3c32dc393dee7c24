"""Tests for driftlens.figures and the `plot-change` / `plot-training` commands."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from driftlens import figures
from driftlens.artifacts import CHANGE_COLUMNS, read_change_table, write_change_table
from driftlens.cli import main

EPOCHS = [0, 1, 2, 3]


def change_table(seed, changed_from=2):
    """A change table of two channels over EPOCHS: channel 5 changes from ``changed_from`` on."""
    rng = np.random.default_rng(seed)
    rows = [{"epoch": epoch, "channel": channel, "cross_activation": 1.0 - 0.2 * epoch * (channel == 5),
             "cross_activation_noise": 1.0 + 0.01 * rng.standard_normal(), "cross_activation_noise_low": 0.9 + 0.01 * channel,
             "exemplar_rho": 1 - 0.05 * epoch, "exemplar_jaccard": 1 - 0.1 * epoch, "ssim_to_first": 1.0 - 0.1 * epoch,
             "ssim_noise": 0.9, "perceptual_to_first": 0.05 * epoch, "perceptual_noise": 0.02, "p_value": 0.5,
             "q_value": 0.5, "changed": channel == 5 and epoch >= changed_from}
            for epoch in EPOCHS for channel in (0, 5)]
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def metrics_records():
    return [{"epoch": epoch, "stage": 0 if epoch < 2 else 1, "train_loss": None if epoch == 0 else 1.0 / epoch,
             "train_acc": None if epoch == 0 else 0.5 + 0.1 * epoch, "val_loss": 2.0 - 0.3 * epoch,
             "val_acc": 0.3 + 0.15 * epoch, "test_acc": 0.3, "seconds": 1.0, "images_per_s": 10.0, "lr": 1e-3}
            for epoch in EPOCHS]


def representation_table():
    return pd.DataFrame([{"epoch": epoch, "layer": layer, "cka": 1 - 0.1 * epoch * (i + 1),
                          "weight_change": 0.01 * epoch * (i + 1)}
                         for epoch in EPOCHS for i, layer in enumerate(["blocks.4", "blocks.10"])])


def drift_table():
    """Attribution drift of two methods over EPOCHS: Grad-CAM moves, SmoothGrad barely does."""
    return pd.DataFrame([{"epoch": epoch, "reference_epoch": 0, "method": method, "image": image,
                          "spearman": 1 - slope * epoch + 0.01 * image, "constant_map": False}
                         for epoch in EPOCHS for method, slope in (("gradcam", 0.2), ("smoothgrad", 0.02))
                         for image in range(3)])


def panel(fig, title_start):
    return next(ax for ax in fig.axes if ax.get_title().startswith(title_start))


def test_plot_change_leads_with_the_verdict_and_draws_every_layer():
    change = {"blocks.4": change_table(0), "blocks.10": change_table(1, changed_from=3)}
    fig = figures.plot_change(change, representation_table(), pd.DataFrame(metrics_records()))
    assert fig.axes[0].get_title().startswith("Rendered channels changed (screen or render verdict)")
    fractions = [line.get_ydata().tolist() for line in fig.axes[0].get_lines()[:2]]
    assert fractions == [[0, 0, 0.5, 0.5], [0, 0, 0, 0.5]]
    cross = panel(fig, "Cross-activation").get_lines()[0]
    np.testing.assert_allclose(cross.get_ydata(), [1 - 0.1 * epoch for epoch in EPOCHS])
    ssim_panel = panel(fig, "Pictures: 1 − SSIM to epoch 0")
    np.testing.assert_allclose(ssim_panel.get_lines()[0].get_ydata(), [0.1 * epoch for epoch in EPOCHS])
    cka_panel = panel(fig, "Representation: linear CKA")
    assert [line.get_ydata()[-1] for line in cka_panel.get_lines()[:2]] == pytest.approx([0.7, 0.4])
    stage_lines = [line for line in panel(fig, "Validation accuracy").get_lines() if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in stage_lines] == [1.5]  # stage 1 starts at epoch 2
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend[:2] == ["blocks.4", "blocks.10"] and "new training stage" in legend


@pytest.mark.parametrize("plot", ["change", "depth"])
def test_cka_panels_name_the_debiased_estimator_and_show_values_below_zero(plot):
    representation = representation_table().assign(estimator="debiased")
    representation.loc[representation.epoch == 3, "cka"] = [-0.03, 0.02]  # unrelated: debiased CKA dips below 0
    fig = (figures.plot_change({"blocks.4": change_table(0)}, representation) if plot == "change"
           else figures.plot_depth({}, representation))
    cka_panel = panel(fig, "Representation: debiased linear CKA to epoch 0")
    assert cka_panel.get_ylabel() == "debiased CKA"
    assert [line.get_ydata()[-1] for line in cka_panel.get_lines()[:2]] == pytest.approx([-0.03, 0.02])
    assert cka_panel.get_ylim()[0] < -0.03 and cka_panel.get_ylim()[1] > 1  # nothing clipped
    assert [list(line.get_ydata()) for line in cka_panel.get_lines()[2:]] == [[0, 0]]  # the dotted line at 0
    mixed = pd.concat([representation, representation_table().assign(estimator="biased", epoch=4)])
    with pytest.raises(ValueError, match="mixes CKA estimators"):
        figures.plot_depth({}, mixed)


def test_noise_band_spans_the_seed_noise_range_over_channels():
    table = change_table(0)
    band = panel(figures.plot_change({"blocks.4": table}), "Cross-activation").collections[0]
    low, high = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()
    noise = table["cross_activation_noise"]
    assert (low, high) == pytest.approx((noise.min(), noise.max()), abs=0.02)


def test_perceptual_panel_names_the_distance_the_tables_hold(tmp_path):
    path = tmp_path / "change.csv"
    write_change_table(path, change_table(0), "blocks.4", "lite0-feature-distance")
    fig = figures.plot_change({"blocks.4": read_change_table(path, "blocks.4")})
    assert panel(fig, "Pictures: perceptual distance").get_title().endswith("\n(lite0-feature-distance)")
    unnamed = figures.plot_change({"blocks.4": change_table(0)})
    assert panel(unnamed, "Pictures: perceptual distance").get_title().endswith("(same seed)")


def test_attribution_drift_gets_its_panel_beside_the_accuracy():
    without = figures.plot_change({"blocks.4": change_table(0)}, metrics=pd.DataFrame(metrics_records()))
    fig = figures.plot_change({"blocks.4": change_table(0)}, metrics=pd.DataFrame(metrics_records()),
                              attribution=drift_table())
    assert len(fig.axes) == len(without.axes) + 1
    drift = panel(fig, "Attribution maps: rank correlation to epoch 0")
    means = {line.get_label().split()[0]: line.get_ydata().tolist() for line in drift.get_lines()
             if line.get_marker() == "o"}
    assert means["gradcam"] == pytest.approx([1.01 - 0.2 * epoch for epoch in EPOCHS])
    assert means["smoothgrad"] == pytest.approx([1.01 - 0.02 * epoch for epoch in EPOCHS])
    accuracy = panel(fig, "Validation accuracy")
    assert accuracy.get_position().x1 < drift.get_position().x0  # side by side, not stacked


def test_attribution_drift_plot_has_integer_epochs_and_stage_lines():
    fig = figures.plot_attribution_drift(drift_table(), pd.DataFrame(metrics_records()))
    ax = fig.axes[0]
    ticks = [tick for tick in ax.get_xticks() if EPOCHS[0] <= tick <= EPOCHS[-1]]
    assert ticks and all(float(tick).is_integer() for tick in ticks)
    stage_lines = [line for line in ax.get_lines() if line.get_linestyle() == "--" and line.get_color() == "gray"]
    assert [line.get_xdata()[0] for line in stage_lines] == [1.5]  # stage 1 starts at epoch 2
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["gradcam (n = 3 images)",
                                                                         "smoothgrad (n = 3 images)",
                                                                         "new training stage"]
    assert not [line for line in figures.plot_attribution_drift(drift_table()).axes[0].get_lines()
                if line.get_color() == "gray"]


def test_plot_change_says_when_inputs_are_missing_and_leaves_out_an_accuracy_it_lacks():
    fig = figures.plot_change({"blocks.4": change_table(0)})
    texts = [text.get_text() for ax in fig.axes for text in ax.texts]
    assert "no representation files given" in texts
    unmeasured = pd.DataFrame({"epoch": [0, 1], "val_acc": [None, None]})  # a run trained elsewhere, unlabelled probe
    for metrics in (None, unmeasured):
        titles = [ax.get_title() for ax in figures.plot_change({"blocks.4": change_table(0)}, metrics=metrics).axes]
        assert "Validation accuracy" not in titles and len(titles) == 8
    with_accuracy = figures.plot_change({"blocks.4": change_table(0)}, metrics=pd.DataFrame(metrics_records()))
    assert "Validation accuracy" in [ax.get_title() for ax in with_accuracy.axes]


def test_plot_training_shows_train_validation_and_test_curves():
    records = [{**record, "test_acc": 0.2 + 0.1 * record["epoch"]} for record in metrics_records()]
    fig = figures.plot_training(pd.DataFrame(records))
    loss, accuracy = fig.axes
    legend = [text.get_text() for text in loss.get_legend().get_texts()]
    assert legend == ["training", "validation", "new training stage"]
    assert [text.get_text() for text in accuracy.get_legend().get_texts()] == ["training", "validation", "test",
                                                                               "new training stage"]
    assert np.isnan(loss.get_lines()[0].get_ydata()[0])  # no training loss before training
    assert accuracy.get_lines()[1].get_ydata().tolist() == pytest.approx([0.3, 0.45, 0.6, 0.75])
    assert accuracy.get_lines()[2].get_ydata().tolist() == pytest.approx([0.2, 0.3, 0.4, 0.5])
    assert loss.get_xlabel() == "epoch" and accuracy.get_ylabel() == "accuracy"


def write_inputs(tmp_path):
    tables = []
    for seed, layer in enumerate(["blocks.4", "blocks.10"]):
        path = tmp_path / layer / "change.csv"
        path.parent.mkdir()
        write_change_table(path, change_table(seed), layer)
        tables.append(str(path))
    metrics, representation = [], []
    for record in metrics_records():
        metrics.append(tmp_path / "metrics" / f"epoch_{record['epoch']:03d}.json")
        metrics[-1].parent.mkdir(exist_ok=True)
        metrics[-1].write_text(json.dumps(record))
    for epoch, rows in representation_table().groupby("epoch"):
        representation.append(tmp_path / "representation" / f"epoch_{epoch:03d}.json")
        representation[-1].parent.mkdir(exist_ok=True)
        representation[-1].write_text(json.dumps({"epoch": int(epoch), "cka": dict(zip(rows.layer, rows.cka)),
                                                  "weight_change": dict(zip(rows.layer, rows.weight_change))}))
    return tables, list(map(str, metrics)), list(map(str, representation))


def test_plot_commands_write_readable_pngs(tmp_path):
    tables, metrics, representation = write_inputs(tmp_path)
    change, training, drift = tmp_path / "change.png", tmp_path / "training.png", tmp_path / "drift.csv"
    drift_table().to_csv(drift, index=False)
    assert main(["plot-change", "--change", f"blocks.4={tables[0]}", tables[1],
                 "--representation", *representation, "--metrics", *metrics, "--attribution-drift", str(drift),
                 "-o", str(change)]) == 0
    assert main(["plot-training", "--metrics", *reversed(metrics), "-o", str(training)]) == 0
    for path, min_size in ((change, (1000, 1200)), (training, (1000, 400))):
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert min_size[0] <= image.size[0] <= 3000 and min_size[1] <= image.size[1] <= 3000
            assert len(np.unique(np.asarray(image.convert("L")))) > 20  # drawn on, not blank


@pytest.mark.parametrize("problem, message", [
    ("missing change", "nowhere/change.csv"),
    ("bad change", "is not a change table: no column exemplar_rho"),
    ("missing metrics", "epoch_042.json"),
    ("bad drift", "is not an attribution drift table: no column spearman"),
    ("mixed estimators", "different CKA estimators"),
])
def test_plot_change_reports_bad_input_in_one_line(tmp_path, capsys, problem, message):
    tables, metrics, representation = write_inputs(tmp_path)
    if problem == "missing change":
        tables = [str(tmp_path / "nowhere" / "change.csv")]
    elif problem == "bad change":
        pd.read_csv(tables[0]).drop(columns="exemplar_rho").to_csv(tables[0], index=False)
    elif problem == "missing metrics":
        metrics.append(str(tmp_path / "metrics" / "epoch_042.json"))
    elif problem == "mixed estimators":  # epoch 3 re-measured after the estimator changed, the others not
        last = tmp_path / "representation" / "epoch_003.json"
        last.write_text(json.dumps({**json.loads(last.read_text()), "estimator": "debiased"}))
    drift = tmp_path / "drift.csv"
    drift_table().drop(columns="spearman" if problem == "bad drift" else []).to_csv(drift, index=False)
    out = tmp_path / "change.png"
    assert main(["plot-change", "--change", *tables, "--representation", *representation, "--metrics", *metrics,
                 "--attribution-drift", str(drift), "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("driftlens: error:") and message in error
    assert not out.exists()


def test_plot_features_shows_the_null_and_a_gallery_row_per_latent_with_crops_at_both_ends_and_a_render():
    import pandas as pd

    from driftlens.figures import plot_features

    table = pd.DataFrame({"latent": [0, 1, 2], "class": ["new", "lost", "shared"], "relative_norm": [0.95, 0.05, 0.5],
                          "dead": False, "home_epoch": [3, 0, 0]})
    summary = {"epochs": [0, 3], "counts": {"new": 1, "lost": 1, "shared": 1}, "map_side": 2,
               "variance_explained": {"0": 0.8, "3": 0.9},
               "nulls": {"noise": {"relative_noise": 0.001, "relative_norms": [0.5, 0.49, 0.51]}}}
    exemplars = {epoch: np.zeros((3, 8, 3), int) for epoch in (0, 3)}
    renders = {0: np.ones((8, 8, 3)), 1: np.zeros((8, 8, 3))}
    figure = plot_features(table, summary, np.random.rand(4, 3, 16, 16), exemplars, table.head(2), renders, "conv2")
    histogram = figure.axes[0]
    assert len(figure.axes) == 1 + 2 * (2 * 4 + 1)
    assert "1 new, 1 lost, 1 shared" in histogram.get_title() and len(histogram.get_legend().get_texts()) == 2
    titles = [ax.get_title(loc="left") for ax in figure.axes[1:]] + [ax.get_title() for ax in figure.axes[1:]]
    assert "latent 0 (new), epoch 0" in titles and "render, epoch 3" in titles and "render, epoch 0" in titles
