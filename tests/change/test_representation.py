"""The representation measures (driftlens.change.representation): linear CKA (debiased and biased), weight change,
the probe pass and the `representation` command."""

import itertools
import json

import numpy as np
import pytest
import skimage.data
import torch
from skimage.transform import resize

import driftlens
from driftlens import artifacts
from driftlens import change
from driftlens.cli import main
from driftlens.checkpoints import Checkpoint, save_checkpoint
from driftlens.artifacts import write_probe

# --- linear CKA -------------------------------------------------------------------------------------

@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 6)), rng.normal(size=(40, 9))


def test_cka_is_one_for_identical_and_symmetric(features):
    x, y = features
    assert change.linear_cka(x, x) == pytest.approx(1.0)
    assert change.linear_cka(x, y) == pytest.approx(change.linear_cka(y, x))
    assert change.linear_cka(x, y) < 0.5  # unrelated features


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_cka_is_invariant_to_orthogonal_transforms_scaling_and_shifts(features, estimator):
    x, _ = features
    orthogonal, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    assert change.linear_cka(x, x @ orthogonal, estimator) == pytest.approx(1.0, abs=1e-6)  # a rotation
    assert change.linear_cka(x, 7.5 * x, estimator) == pytest.approx(1.0, abs=1e-6)  # isotropic scaling
    assert change.linear_cka(x, 7.5 * x @ orthogonal + 3.0, estimator) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_cka_is_not_invariant_to_anisotropic_scaling(features, estimator):
    x, _ = features
    assert change.linear_cka(x, x * np.array([1, 1, 1, 1, 1, 20.0]), estimator) < 0.9


def test_debiased_cka_of_independent_features_is_near_zero_where_the_biased_is_not():
    rng = np.random.default_rng(2)
    draws = [(rng.normal(size=(32, 8)), rng.normal(size=(32, 8))) for _ in range(20)]
    debiased = [change.linear_cka(x, y) for x, y in draws]
    biased = [change.linear_cka(x, y, "biased") for x, y in draws]
    assert abs(np.mean(debiased)) < 0.05 and min(debiased) < 0  # unbiased: noise on either side of 0
    assert np.mean(biased) > 0.1 and min(biased) > 0
    assert change.DEFAULT_CKA_ESTIMATOR == "debiased" and change.linear_cka(*draws[0]) == debiased[0]


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

    assert change.gram_cka(k, l) == pytest.approx(hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l)), rel=1e-10)


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_cka_is_the_same_from_centered_and_uncentered_grams(estimator):
    """The probe-responses files hold centered Gram matrices; both estimators give X X^T's value from them."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(16, 5)) + 3.0, 0.5 * rng.normal(size=(16, 9)) - 2.0
    uncentered = change.gram_cka(x @ x.T, y @ y.T, estimator)
    grams = [change.centered_gram(torch.tensor(features)) for features in (x, y)]
    centered = change.gram_cka(*grams, estimator)
    assert centered == pytest.approx(uncentered, rel=1e-10)
    assert uncentered == pytest.approx(change.linear_cka(x, y, estimator))


def test_gram_cka_rejects_an_unknown_estimator_too_few_examples_and_unequal_grams():
    gram = change.centered_gram(torch.randn(3, 2))
    with pytest.raises(ValueError, match="unknown CKA estimator 'unbiased'"):
        change.gram_cka(gram, gram, "unbiased")
    with pytest.raises(ValueError, match="at least 4 examples, got 3"):
        change.gram_cka(gram, gram)
    assert change.gram_cka(gram, gram, "biased") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="square and of one size"):
        change.gram_cka(gram, torch.eye(4))


def test_cka_accepts_tensors_and_rejects_bad_shapes(features):
    x, y = features
    assert change.linear_cka(torch.tensor(x), torch.tensor(y)) == pytest.approx(change.linear_cka(x, y))
    with pytest.raises(ValueError, match="same examples"):
        change.linear_cka(x, y[:10])
    with pytest.raises(ValueError, match="examples, features"):
        change.linear_cka(x[:, 0], y[:, 0])


# --- weight change -----------------------------------------------------------------------------------

def test_weight_change_is_zero_for_identical_weights(tiny):
    state = tiny.net.state_dict()
    assert change.weight_change(state, state, ["conv1", "conv3", "fc"]) == {"conv1": 0.0, "conv3": 0.0, "fc": 0.0}


def test_weight_change_on_a_hand_made_example():
    a = {"block.0.weight": torch.tensor([[3.0, 0.0]]), "block.0.bias": torch.tensor([4.0]),
         "block.0.num_batches_tracked": torch.tensor(1), "block1.weight": torch.tensor([100.0])}
    b = {"block.0.weight": torch.tensor([[3.0, 1.0]]), "block.0.bias": torch.tensor([4.0]),
         "block.0.num_batches_tracked": torch.tensor(50), "block1.weight": torch.tensor([0.0])}
    # ||W_a|| = 5 (3, 0, 4), ||W_b - W_a|| = 1; `block1` is not under `block`; counters are not weights.
    assert change.weight_change(a, b, ["block", "block1"]) == {"block": pytest.approx(0.2), "block1": 1.0}


def test_weight_change_names_bad_layers_and_tensors():
    a = {"fc.weight": torch.ones(2, 3)}
    with pytest.raises(ValueError, match="'conv'"):
        change.weight_change(a, a, ["conv"])
    with pytest.raises(ValueError, match="'fc.weight' is missing"):
        change.weight_change(a, {}, ["fc"])
    with pytest.raises(ValueError, match=r"'fc.weight' has shape \(5, 3\)"):
        change.weight_change(a, {"fc.weight": torch.ones(5, 3)}, ["fc"])


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
    grams = change.probe_pass(tiny, torch.rand(6, 3, 32, 32), ["conv2", "logits"], progress=False)["grams"]
    measured = change.representation_change(tiny, tiny, grams, grams, estimator)
    assert measured["cka"] == {"conv2": pytest.approx(1.0), "logits": pytest.approx(1.0)}
    assert measured["weight_change"] == {"conv2": 0.0, "logits": 0.0} and measured["estimator"] == estimator


def test_probe_pass_batches_give_the_same_responses_and_grams(tiny):
    images = torch.rand(5, 3, 32, 32)
    whole = change.probe_pass(tiny, images, ["conv3"], batch_size=5, progress=False)
    batched = change.probe_pass(tiny, images, ["conv3"], batch_size=2, progress=False)
    assert whole["responses"]["conv3"].shape == (5, 16) and whole["grams"]["conv3"].shape == (5, 5)
    for kind in ("responses", "grams"):
        np.testing.assert_allclose(whole[kind]["conv3"], batched[kind]["conv3"], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("estimator", ["debiased", "biased"])
def test_cka_from_grams_equals_cka_from_features(estimator):
    x, y = torch.randn(12, 40), torch.randn(12, 7)
    assert change.gram_cka(change.centered_gram(x), change.centered_gram(y, chunk=3), estimator) == pytest.approx(
        change.linear_cka(x, y, estimator))


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
