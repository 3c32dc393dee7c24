"""Tests for driftlens.compare, the artifacts it reads and the `representation` command."""

import itertools
import json
import sys
import types

import numpy as np
import pytest
import skimage.data
import torch
import torchvision
from skimage.transform import resize

import driftlens
from driftlens import artifacts
from driftlens import change as compare
from driftlens.cli import main
from driftlens.io import save_npz
from driftlens.models import WeightsUnavailableError
from driftlens.checkpoints import Checkpoint, save_checkpoint
from driftlens.artifacts import write_probe


@pytest.fixture(scope="module")
def cat():
    """A real photograph, 64 x 64, float in [0, 1]."""
    return resize(skimage.data.chelsea(), (64, 64), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="module")
def small_cat(cat):
    """The same photograph at 32 x 32, for tests that only need some real picture."""
    return resize(cat, (32, 32), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="module")
def lite0_distance():
    return compare.PerceptualDistance(backend="lite0", device="cpu")


def noisy(image, sigma, seed=0):
    noise = np.random.default_rng(seed).normal(scale=sigma, size=image.shape)
    return np.clip(image + noise, 0, 1).astype(np.float32)


# --- SSIM --------------------------------------------------------------------------------------------

def test_ssim_is_one_for_identical_and_falls_with_noise(cat):
    scores = [compare.ssim(cat, noisy(cat, sigma)) for sigma in (0.0, 0.05, 0.1, 0.2)]
    assert scores[0] == pytest.approx(1.0)
    assert all(later < earlier for earlier, later in zip(scores, scores[1:]))


def test_ssim_rejects_different_shapes(cat):
    with pytest.raises(ValueError, match="shapes"):
        compare.ssim(cat, cat[:32])


# --- perceptual distance -----------------------------------------------------------------------------

def test_perceptual_distance_is_zero_for_identical_and_grows_with_noise(cat, lite0_distance):
    levels = (0.0, 0.05, 0.1, 0.2, 0.4)
    distances = lite0_distance(np.stack([cat] * len(levels)), np.stack([noisy(cat, s) for s in levels]))
    assert lite0_distance.name == "lite0-feature-distance"
    assert distances.shape == (len(levels),)
    assert distances[0] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(distances) > 0)


def test_perceptual_distance_does_not_depend_on_batching_or_order(small_cat, lite0_distance):
    cat = small_cat
    a = np.stack([cat, noisy(cat, 0.1), cat])
    b = np.stack([noisy(cat, 0.1, seed=1), cat, cat[:, ::-1]])
    distances = lite0_distance(a, b)
    one_at_a_time = compare.PerceptualDistance(backend="lite0", device="cpu", batch_size=1)
    np.testing.assert_allclose(one_at_a_time(a, b), distances, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(lite0_distance(a[::-1], b[::-1]), distances[::-1], rtol=1e-4, atol=1e-6)


def test_perceptual_distance_rejects_bad_shapes(cat, lite0_distance):
    with pytest.raises(ValueError, match="shapes"):
        lite0_distance(cat[None], cat[None, :32])
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        lite0_distance(cat, cat)
    with pytest.raises(ValueError, match="backend"):
        compare.PerceptualDistance(backend="vgg")


def test_auto_falls_back_to_lite0_without_lpips(monkeypatch):
    monkeypatch.setattr(compare.pixels, "_lpips_alex", lambda device: None)
    assert compare.PerceptualDistance(device="cpu").name == "lite0-feature-distance"
    with pytest.raises(WeightsUnavailableError, match="AlexNet"):
        compare.PerceptualDistance(backend="lpips", device="cpu")


def test_auto_uses_lpips_when_available(monkeypatch, cat):
    def fake_lpips(a, b, normalize):
        assert normalize and a.shape[1] == 3  # [0, 1] input, channels first
        return (a - b).abs().mean(dim=(1, 2, 3)).view(-1, 1, 1, 1)

    monkeypatch.setattr(compare.pixels, "_lpips_alex", lambda device: fake_lpips)
    distance = compare.PerceptualDistance(device="cpu")
    other = noisy(cat, 0.1)
    assert distance.name == "lpips-alex"
    assert distance(cat[None], other[None])[0] == pytest.approx(np.abs(cat - other).mean(), rel=1e-5)


def test_lpips_is_only_built_when_its_trunk_weights_are_cached(monkeypatch, tmp_path):
    built = []
    fake = types.SimpleNamespace(LPIPS=lambda **kwargs: built.append(kwargs) or torch.nn.Identity())
    monkeypatch.setitem(sys.modules, "lpips", fake)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    build = compare.pixels._lpips_alex.__wrapped__
    assert build("cpu") is None and not built  # no download is ever attempted
    weights = driftlens.models.weights.cache_file_for(compare.lpips_backbone_url())
    weights.parent.mkdir(parents=True)
    weights.touch()
    assert isinstance(build("cpu"), torch.nn.Identity) and built[0]["net"] == "alex"
    monkeypatch.setitem(sys.modules, "lpips", None)  # not installed
    assert build("cpu") is None


def test_real_lpips_runs_on_the_backbone_in_the_cache(monkeypatch, tmp_path, small_cat):
    pytest.importorskip("lpips")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    target = driftlens.models.weights.cache_file_for(compare.lpips_backbone_url())
    target.parent.mkdir(parents=True)
    other = noisy(small_cat, 0.2)

    def lpips_with_backbone(seed):
        torch.manual_seed(seed)
        torch.save(torchvision.models.alexnet(weights=None).state_dict(), target)
        compare.pixels._lpips_alex.cache_clear()
        try:
            distance = compare.PerceptualDistance(device="cpu")
        finally:
            compare.pixels._lpips_alex.cache_clear()
        return distance.name, distance(np.stack([small_cat, small_cat]), np.stack([small_cat, other]))

    name, values = lpips_with_backbone(0)
    assert name == "lpips-alex"
    assert values[0] == pytest.approx(0, abs=1e-6) and values[1] > 0
    assert lpips_with_backbone(1)[1][1] != pytest.approx(values[1], rel=1e-3)  # the cached trunk is the one used


# --- linear CKA -------------------------------------------------------------------------------------

@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 6)), rng.normal(size=(40, 9))


def test_cka_is_one_for_identical_and_symmetric(features):
    x, y = features
    assert compare.linear_cka(x, x) == pytest.approx(1.0)
    assert compare.linear_cka(x, y) == pytest.approx(compare.linear_cka(y, x))
    assert compare.linear_cka(x, y) < 0.5  # unrelated features


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_cka_is_invariant_to_orthogonal_transforms_scaling_and_shifts(features, estimator):
    x, _ = features
    orthogonal, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    assert compare.linear_cka(x, x @ orthogonal, estimator) == pytest.approx(1.0, abs=1e-6)  # a rotation
    assert compare.linear_cka(x, 7.5 * x, estimator) == pytest.approx(1.0, abs=1e-6)  # isotropic scaling
    assert compare.linear_cka(x, 7.5 * x @ orthogonal + 3.0, estimator) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_cka_is_not_invariant_to_anisotropic_scaling(features, estimator):
    x, _ = features
    assert compare.linear_cka(x, x * np.array([1, 1, 1, 1, 1, 20.0]), estimator) < 0.9


def test_debiased_cka_of_independent_features_is_near_zero_where_the_biased_is_not():
    rng = np.random.default_rng(2)
    draws = [(rng.normal(size=(32, 8)), rng.normal(size=(32, 8))) for _ in range(20)]
    debiased = [compare.linear_cka(x, y) for x, y in draws]
    biased = [compare.linear_cka(x, y, "biased") for x, y in draws]
    assert abs(np.mean(debiased)) < 0.05 and min(debiased) < 0  # unbiased: noise on either side of 0
    assert np.mean(biased) > 0.1 and min(biased) > 0
    assert compare.DEFAULT_CKA_ESTIMATOR == "debiased" and compare.linear_cka(*draws[0]) == debiased[0]


def test_debiased_hsic_is_the_u_statistic_of_song_et_al():
    """The closed form of gram_cka equals the definition: the mean of k_ij l_ij + k_ij l_qr - 2 k_ij l_iq over
    distinct indices (i, j, q, r), Song et al. (2012), eq. 4 and Theorem 2."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 3)) + 2.0, rng.normal(size=(7, 5)) - 1.0  # uncentered on purpose
    k, l = x @ x.T, y @ y.T

    def hsic(k, l):
        terms = [k[i, j] * l[i, j] + k[i, j] * l[q, r] - 2 * k[i, j] * l[i, q]
                 for i, j, q, r in itertools.permutations(range(len(k)), 4)]
        return np.mean(terms)

    assert compare.gram_cka(k, l) == pytest.approx(hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l)), rel=1e-10)


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_cka_is_the_same_from_centered_and_uncentered_grams(estimator):
    """The probe-responses files hold centered Gram matrices; both estimators give X X^T's value from them."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(16, 5)) + 3.0, 0.5 * rng.normal(size=(16, 9)) - 2.0
    uncentered = compare.gram_cka(x @ x.T, y @ y.T, estimator)
    grams = [compare.centered_gram(torch.tensor(features)) for features in (x, y)]
    centered = compare.gram_cka(*grams, estimator)
    assert centered == pytest.approx(uncentered, rel=1e-10)
    assert uncentered == pytest.approx(compare.linear_cka(x, y, estimator))


def test_gram_cka_rejects_an_unknown_estimator_too_few_examples_and_unequal_grams():
    gram = compare.centered_gram(torch.randn(3, 2))
    with pytest.raises(ValueError, match="unknown CKA estimator 'unbiased'"):
        compare.gram_cka(gram, gram, "unbiased")
    with pytest.raises(ValueError, match="at least 4 examples, got 3"):
        compare.gram_cka(gram, gram)
    assert compare.gram_cka(gram, gram, "biased") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="square and of one size"):
        compare.gram_cka(gram, torch.eye(4))


def test_cka_accepts_tensors_and_rejects_bad_shapes(features):
    x, y = features
    assert compare.linear_cka(torch.tensor(x), torch.tensor(y)) == pytest.approx(compare.linear_cka(x, y))
    with pytest.raises(ValueError, match="same examples"):
        compare.linear_cka(x, y[:10])
    with pytest.raises(ValueError, match="examples, features"):
        compare.linear_cka(x[:, 0], y[:, 0])


# --- weight change -----------------------------------------------------------------------------------

def test_weight_change_is_zero_for_identical_weights(tiny):
    state = tiny.net.state_dict()
    assert compare.weight_change(state, state, ["conv1", "conv3", "fc"]) == {"conv1": 0.0, "conv3": 0.0, "fc": 0.0}


def test_weight_change_on_a_hand_made_example():
    a = {"block.0.weight": torch.tensor([[3.0, 0.0]]), "block.0.bias": torch.tensor([4.0]),
         "block.0.num_batches_tracked": torch.tensor(1), "block1.weight": torch.tensor([100.0])}
    b = {"block.0.weight": torch.tensor([[3.0, 1.0]]), "block.0.bias": torch.tensor([4.0]),
         "block.0.num_batches_tracked": torch.tensor(50), "block1.weight": torch.tensor([0.0])}
    # ||W_a|| = 5 (3, 0, 4), ||W_b - W_a|| = 1; `block1` is not under `block`; counters are not weights.
    assert compare.weight_change(a, b, ["block", "block1"]) == {"block": pytest.approx(0.2), "block1": 1.0}


def test_weight_change_names_bad_layers_and_tensors():
    a = {"fc.weight": torch.ones(2, 3)}
    with pytest.raises(ValueError, match="'conv'"):
        compare.weight_change(a, a, ["conv"])
    with pytest.raises(ValueError, match="'fc.weight' is missing"):
        compare.weight_change(a, {}, ["fc"])
    with pytest.raises(ValueError, match=r"'fc.weight' has shape \(5, 3\)"):
        compare.weight_change(a, {"fc.weight": torch.ones(5, 3)}, ["fc"])


# --- pixel scores and artifacts ----------------------------------------------------------------------

def test_pixel_scores_compare_seed_by_seed_and_seed_pairs(small_cat, lite0_distance):
    first = np.stack([np.stack([noisy(small_cat, 0.05, seed=10 * s + c) for c in range(2)]) for s in range(3)])
    later = first.copy()
    later[:, 1] = noisy(first[:, 1], 0.3, seed=5)  # channel 1 changes at every seed; channel 0 does not
    scores = compare.pixel_scores(later, first, lite0_distance)
    assert scores["ssim_to_first"][0] == pytest.approx(1.0) and scores["ssim_to_first"][1] < 0.5
    assert scores["perceptual_to_first"][0] == pytest.approx(0.0, abs=1e-6) and scores["perceptual_to_first"][1] > 0
    noise = compare.pixel_scores(first, first, lite0_distance)
    assert 0 < noise["ssim_noise"][0] < 1 and noise["perceptual_noise"][0] > 0  # seeds differ from each other
    with pytest.raises(ValueError, match="cannot be compared"):
        compare.pixel_scores(later[:2], first, lite0_distance)


def test_render_row_round_trip_and_wrong_files_are_named(tmp_path):
    row = artifacts.RenderedRow(np.zeros((2, 3, 8, 8, 3), np.float32), [1, 2, 5], [0, 1], "conv3", 4, {"steps": 8})
    path = tmp_path / "epoch_004.npz"
    artifacts.write_row(path, row)
    again = artifacts.read_row(path, layer="conv3", epoch=4)
    assert (again.channels, again.seeds, again.epoch, again.settings) == ([1, 2, 5], [0, 1], 4, {"steps": 8})
    with pytest.raises(artifacts.ArtifactError, match=r"epoch_004.npz is the render row of another epoch"):
        artifacts.read_row(path, epoch=5)
    with pytest.raises(artifacts.ArtifactError, match="another layer"):
        artifacts.read_row(path, layer="conv2")
    save_npz(tmp_path / "plain.npz", images=np.zeros(3))
    with pytest.raises(artifacts.ArtifactError, match="plain.npz is not a driftlens artifact"):
        artifacts.read_row(tmp_path / "plain.npz")
    artifacts.write_probe_responses(tmp_path / "r.npz", 4, {"conv3": np.zeros((2, 3))}, {"conv3": np.zeros((2, 2))})
    with pytest.raises(artifacts.ArtifactError, match="r.npz is not a render row: it holds probe responses"):
        artifacts.read_row(tmp_path / "r.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(artifacts.ArtifactError, match="broken.npz is truncated or not an .npz file"):
        artifacts.read_row(tmp_path / "broken.npz")


# --- representation command --------------------------------------------------------------------------

@pytest.fixture
def checkpoints(tmp_path):
    """Tiny-model checkpoints (epoch 0; epoch 3: conv1's kernel negated, every conv3 parameter x 1.5) and a
    probe set of 16 photo crops."""
    first = driftlens.models.load("tiny", weights="random", seed=0)
    later = driftlens.models.load("tiny", weights="random", seed=0)
    with torch.no_grad():
        later.module("conv1")[0].weight.neg_()
        for parameter in later.module("conv3").parameters():
            parameter.mul_(1.5)
    paths = []
    for epoch, model in ((0, first), (3, later)):
        paths.append(tmp_path / "checkpoints" / f"epoch_{epoch:03d}.pt")
        paths[-1].parent.mkdir(exist_ok=True)
        save_checkpoint(Checkpoint(model.net.state_dict(), epoch, {"model": "tiny"}, []), paths[-1])
    photos = [resize(getattr(skimage.data, name)(), (64, 64), anti_aliasing=True)
              for name in ("astronaut", "chelsea", "coffee", "rocket")]
    crops = np.stack([photo[y:y + 32, x:x + 32] for photo in photos for y in (0, 32) for x in (0, 32)])
    probe = tmp_path / "probe.npz"
    write_probe(probe, crops.transpose(0, 3, 1, 2), np.arange(len(crops)), [f"crop{i}" for i in range(len(crops))])
    return [str(path) for path in paths], str(probe)


def test_representation_command_writes_cka_and_weight_change(checkpoints, tmp_path):
    (first, later), probe = checkpoints
    out = tmp_path / "representation" / "epoch_003.json"
    argv = ["representation", "--first", first, "--checkpoint", later, "--probe", probe,
            "--layers", "conv1,conv2,conv3", "--responses", str(tmp_path / "p.npz"), "-o", str(out), "--device", "cpu",
            "--no-progress"]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["epoch"] == 3
    assert result["weight_change"]["conv2"] == 0.0 and result["weight_change"]["conv3"] == pytest.approx(0.5)
    assert 0 < result["weight_change"]["conv1"] < 2  # only part of conv1's parameters moved, by 2 |w|
    assert result["cka"]["conv1"] < 0.99 and result["cka"]["conv2"] < 0.99  # conv2 sees conv1's new output
    assert result["estimator"] == "debiased"


def test_representation_of_a_constant_layer_is_null_in_standard_json(checkpoints, tmp_path):
    (first, _), probe = checkpoints
    dead = driftlens.models.load("tiny", weights="random", seed=0)
    with torch.no_grad():
        for parameter in dead.module("conv1").parameters():
            parameter.zero_()  # conv1 is constant on every image: its CKA is undefined
    save_checkpoint(Checkpoint(dead.net.state_dict(), 3, {"model": "tiny"}, []), tmp_path / "epoch_003.pt")
    out = tmp_path / "r.json"
    argv = ["representation", "--first", first, "--checkpoint", str(tmp_path / "epoch_003.pt"), "--probe", probe,
            "--layers", "conv1", "--responses", str(tmp_path / "p.npz"), "-o", str(out), "--device", "cpu",
            "--no-progress"]

    assert main(argv) == 0
    assert "NaN" not in out.read_text() and json.loads(out.read_text())["cka"] == {"conv1": None}


def _representation_argv(first, checkpoint, probe, out_dir, layers, *extra):
    return ["representation", "--first", first, "--checkpoint", checkpoint, "--probe", probe, "--layers", layers,
            "--responses", str(out_dir / "p.npz"), "-o", str(out_dir / "r.json"), "--device", "cpu", "--no-progress",
            *extra]


@pytest.mark.parametrize("changed", ["fc.weight", "conv3.0.weight"])  # after every layer measured / in conv3
def test_representation_reuses_epoch_0_responses_exactly_when_the_upstream_weights_are_epoch_0s(
        checkpoints, tmp_path, capsys, changed):
    (first, _), probe = checkpoints
    model = driftlens.models.load("tiny", weights="random", seed=0)
    with torch.no_grad():
        dict(model.net.named_parameters())[changed].mul_(1.5)
    later = tmp_path / "epoch_002.pt"
    save_checkpoint(Checkpoint(model.net.state_dict(), 2, {"model": "tiny"}, []), later)
    zero, reused, measured = (tmp_path / name for name in ("zero", "reused", "measured"))
    for folder in (zero, reused, measured):
        folder.mkdir()
    assert main(_representation_argv(first, first, probe, zero, "conv1,conv2,conv3")) == 0
    capsys.readouterr()
    assert main(_representation_argv(first, str(later), probe, reused, "conv1,conv2,conv3",
                                     "--first-responses", str(zero / "p.npz"))) == 0
    assert ("reused exactly" in capsys.readouterr().err) == (changed == "fc.weight")
    assert main(_representation_argv(first, str(later), probe, measured, "conv1,conv2,conv3")) == 0
    _, responses, grams = artifacts.read_probe_responses(reused / "p.npz", epoch=2)
    _, recomputed, recomputed_grams = artifacts.read_probe_responses(measured / "p.npz", epoch=2)
    for layer in ("conv1", "conv2", "conv3"):
        assert np.array_equal(responses[layer], recomputed[layer]) and np.array_equal(grams[layer], recomputed_grams[layer])
    assert json.loads((reused / "r.json").read_text()) == json.loads((measured / "r.json").read_text())
    assert np.array_equal(responses["conv3"], artifacts.read_probe_responses(zero / "p.npz")[1]["conv3"]) == (changed == "fc.weight")


def test_representation_command_names_an_unknown_layer(checkpoints, tmp_path, capsys):
    (first, later), probe = checkpoints
    argv = ["representation", "--first", first, "--checkpoint", later, "--probe", probe,
            "--layers", "conv9", "--responses", str(tmp_path / "p.npz"), "-o", str(tmp_path / "r.json"), "--device",
            "cpu", "--no-progress"]
    assert main(argv) == 2
    assert "unknown layer 'conv9'" in capsys.readouterr().err


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_representation_change_of_identical_models(tiny, estimator):
    grams = compare.probe_pass(tiny, torch.rand(6, 3, 32, 32), ["conv2", "logits"], progress=False)["grams"]
    change = compare.representation_change(tiny, tiny, grams, grams, estimator)
    assert change["cka"] == {"conv2": pytest.approx(1.0), "logits": pytest.approx(1.0)}
    assert change["weight_change"] == {"conv2": 0.0, "logits": 0.0} and change["estimator"] == estimator


def test_probe_pass_batches_give_the_same_responses_and_grams(tiny):
    images = torch.rand(5, 3, 32, 32)
    whole = compare.probe_pass(tiny, images, ["conv3"], batch_size=5, progress=False)
    batched = compare.probe_pass(tiny, images, ["conv3"], batch_size=2, progress=False)
    assert whole["responses"]["conv3"].shape == (5, 16) and whole["grams"]["conv3"].shape == (5, 5)
    for kind in ("responses", "grams"):
        np.testing.assert_allclose(whole[kind]["conv3"], batched[kind]["conv3"], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_cka_from_grams_equals_cka_from_features(estimator):
    x, y = torch.randn(12, 40), torch.randn(12, 7)
    assert compare.gram_cka(compare.centered_gram(x), compare.centered_gram(y, chunk=3), estimator) == pytest.approx(
        compare.linear_cka(x, y, estimator))


def test_read_probe_and_representation_name_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="probe.npz"):
        artifacts.read_probe(tmp_path / "probe.npz")
    path = tmp_path / "epoch_001.json"
    path.write_text(json.dumps({"epoch": 1, "cka": {"conv1": 0.9}}))
    with pytest.raises(ValueError, match="epoch_001.json is not a representation-change file: it has no weight_change"):
        artifacts.read_representation([path])


def test_representation_files_record_the_estimator_and_old_files_read_as_biased(tmp_path):
    new, old = tmp_path / "epoch_001.json", tmp_path / "epoch_002.json"
    artifacts.write_representation(new, 1, {"cka": {"conv1": -0.01}, "weight_change": {"conv1": 0.5},
                                            "estimator": "debiased"})
    assert json.loads(new.read_text())["estimator"] == "debiased"
    assert artifacts.read_representation([new]).estimator.tolist() == ["debiased"]
    old.write_text(json.dumps({"epoch": 2, "cka": {"conv1": 0.3}, "weight_change": {"conv1": 0.6}}))  # before the field
    assert artifacts.read_representation([old]).estimator.tolist() == ["biased"]
    with pytest.raises(ValueError, match="does not say which CKA estimator"):
        artifacts.write_representation(tmp_path / "x.json", 1, {"cka": {"conv1": 0.5}, "weight_change": {"conv1": 0.5}})


def test_representation_files_of_different_estimators_are_not_combined(tmp_path):
    paths = [tmp_path / f"epoch_00{epoch}.json" for epoch in range(3)]
    for epoch, estimator in ((0, "debiased"), (1, "debiased")):
        artifacts.write_representation(paths[epoch], epoch, {"cka": {"conv1": 1.0}, "weight_change": {"conv1": 0.0},
                                                             "estimator": estimator})
    paths[2].write_text(json.dumps({"epoch": 2, "cka": {"conv1": 0.3}, "weight_change": {"conv1": 0.6}}))
    with pytest.raises(artifacts.ArtifactError, match="different CKA estimators") as error:
        artifacts.read_representation(paths)
    assert f"biased: {paths[2]}" in str(error.value) and f"debiased: {paths[0]}, {paths[1]}" in str(error.value)
    assert len(artifacts.read_representation(paths[:2])) == 2
