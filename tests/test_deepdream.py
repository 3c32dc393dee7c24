"""DeepDream: the layer objective rises, the image stays valid, runs are seeded and the model is untouched."""

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F

import driftlens
from driftlens.deepdream import deep_dream, layer_energy, octave_sizes
from driftlens.models import UnknownLayerError


@pytest.fixture
def photo():
    cat = torch.from_numpy(skimage.data.chelsea()).permute(2, 0, 1).float() / 255
    return F.interpolate(cat[None], size=(32, 32), mode="bilinear", antialias=True)[0]


def _hooks_left(model):
    return [name for name, m in model.named_modules() if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks]


def test_dreaming_raises_the_layer_energy(tiny, photo):
    dream = deep_dream(tiny, photo, "conv3", octaves=3, steps=8, step_size=0.02, progress=False)
    before, after = layer_energy(tiny, torch.stack([photo, dream]), "conv3").tolist()
    assert after > 1.5 * before


def test_dream_keeps_shape_and_range_for_one_image_and_for_a_batch(tiny, photo):
    one = deep_dream(tiny, photo, "conv2", octaves=2, steps=2, progress=False)
    batch = deep_dream(tiny, photo.repeat(2, 1, 1, 1), "conv2", octaves=2, steps=2, progress=False)
    assert one.shape == photo.shape and batch.shape == (2, 3, 32, 32)
    assert one.min() >= 0 and one.max() <= 1
    assert not torch.equal(one, photo)


def test_dream_is_seeded(tiny, photo):
    runs = [deep_dream(tiny, photo, "conv3", octaves=2, steps=3, seed=seed, progress=False) for seed in (0, 0, 1)]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_dream_leaves_the_model_as_it_was(tiny, photo):
    tiny.train()
    state = {k: v.clone() for k, v in tiny.state_dict().items()}
    deep_dream(tiny, photo, "conv3", octaves=2, steps=2, progress=False)
    assert _hooks_left(tiny) == []
    assert tiny.training and all(torch.equal(v, tiny.state_dict()[k]) for k, v in state.items())


def test_dream_of_an_unknown_layer_names_it(tiny, photo):
    with pytest.raises(UnknownLayerError, match="conv9"):
        deep_dream(tiny, photo, "conv9", octaves=1, steps=1, progress=False)
    assert _hooks_left(tiny) == []


def test_octaves_grow_by_the_scale_up_to_the_image_size():
    sizes = octave_sizes(224, 224, 4, 1.4)
    assert sizes[-1] == (224, 224) and len(sizes) == 4
    assert all(abs(b[0] / a[0] - 1.4) < 0.05 for a, b in zip(sizes, sizes[1:]))


def test_dream_runs_on_the_offline_lite0(photo):
    model = driftlens.models.load("efficientnet_lite0")
    image = F.interpolate(photo[None], size=(64, 64), mode="bilinear")[0]
    dream = deep_dream(model, image, "blocks.5", octaves=2, steps=3, progress=False)
    before, after = layer_energy(model, torch.stack([image, dream]), "blocks.5").tolist()
    assert after > before


def test_dream_command_keeps_the_aspect_ratio_and_size_unless_told(tmp_path):
    from PIL import Image

    from driftlens.cli import main
    from driftlens.io import save_image

    wide = F.interpolate(torch.from_numpy(skimage.data.chelsea()).permute(2, 0, 1)[None].float() / 255,
                         size=(24, 40), mode="bilinear", antialias=True)[0]
    save_image(wide.permute(1, 2, 0).numpy(), tmp_path / "cat.png")
    args = ["dream", "--model", "tiny", "--weights", "random", "--layer", "conv3", "--octaves", "2", "--steps", "2",
            str(tmp_path / "cat.png")]
    assert main([*args, "-o", str(tmp_path / "own.png")]) == 0
    assert main([*args, "--size", "60", "-o", str(tmp_path / "large.png")]) == 0
    assert Image.open(tmp_path / "own.png").size == (40, 24)
    assert Image.open(tmp_path / "large.png").size == (60, 36)
    dreamt = np.asarray(Image.open(tmp_path / "own.png"), dtype=float) / 255
    assert np.abs(dreamt - wide.permute(1, 2, 0).numpy()).mean() > 1e-3  # dreamt, not copied
