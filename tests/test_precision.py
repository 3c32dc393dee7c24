"""Mixed precision: which dtype each setting picks, and that bf16 autocast really runs the model's passes in bf16
(on the CPU here, where it is only used when asked for) while images, losses and parameters stay float32."""

import numpy as np
import pytest
import torch

import driftlens
from driftlens.cli import main
from driftlens.errors import ConfigError
from driftlens.optvis import visualize_units
from driftlens.precision import PRECISIONS, autocast, autocast_dtype
from driftlens.train import TrainConfig, run_epoch


@pytest.fixture
def tiny():
    return driftlens.models.load("tiny", weights="random")


def _conv_output_dtypes(model, batch):
    """Record the dtype of every convolution output on ``batch`` images (not the one-image shape check of
    ``validate``); returns (dtypes, handles)."""
    dtypes = []
    handles = [m.register_forward_hook(lambda _m, _i, out: dtypes.append(out.dtype) if len(out) == batch else None)
               for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    return dtypes, handles


def test_auto_is_fp32_on_the_cpu_and_bf16_on_a_gpu_with_native_bf16(monkeypatch):
    assert autocast_dtype("auto", "cpu") is None and autocast_dtype("fp32", "cpu") is None
    assert autocast_dtype("bf16", "cpu") == torch.bfloat16
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))  # an A100
    assert autocast_dtype("auto", "cuda") == torch.bfloat16 and autocast_dtype("fp32", "cuda:1") is None
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 0))  # a V100: emulated bf16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert autocast_dtype("auto", "cuda") is None and autocast_dtype("bf16", "cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    with pytest.raises(ConfigError, match="does not support bfloat16"):
        autocast_dtype("bf16", "cuda")


def test_unknown_precision_is_named():
    with pytest.raises(ConfigError, match="unknown precision 'fp16'.*auto, fp32, bf16"):
        autocast_dtype("fp16", "cpu")
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig.from_dict({"model": "tiny", "splits": "s.json", "image_size": 32, "precision": "fp16",
                               "stages": [{"epochs": 1, "lr": 0.1}]})
    assert PRECISIONS[0] == "auto"


def test_autocast_context_changes_matmul_dtype_only_for_bf16():
    a = torch.ones(2, 2)
    with autocast("bf16", "cpu"):
        assert (a @ a).dtype == torch.bfloat16
    with autocast("auto", "cpu"):
        assert (a @ a).dtype == torch.float32


def test_bf16_render_runs_the_model_in_bf16_and_stays_close_to_fp32(tiny):
    units, seeds = {"conv2": [0], "conv3": [0, 1]}, [0, 1]
    render = dict(size=32, steps=8, progress=False)
    default = visualize_units(tiny, units, seeds, **render)
    fp32 = visualize_units(tiny, units, seeds, precision="fp32", **render)
    dtypes, handles = _conv_output_dtypes(tiny, batch=6)
    try:
        bf16 = visualize_units(tiny, units, seeds, precision="bf16", **render)
    finally:
        for handle in handles:
            handle.remove()
    assert len(dtypes) == 3 * render["steps"] and set(dtypes) == {torch.bfloat16}
    for layer in units:
        assert np.array_equal(default[layer], fp32[layer])  # auto is fp32 on the CPU, byte for byte
        assert bf16[layer].dtype == np.float32 and not np.array_equal(bf16[layer], fp32[layer])
        assert np.abs(bf16[layer] - fp32[layer]).mean() < 0.05


def test_bf16_training_keeps_float32_parameters_and_a_close_loss(tiny):
    generator = torch.Generator().manual_seed(0)
    batches = [(torch.rand(8, 3, 32, 32, generator=generator), torch.arange(8) % 4) for _ in range(3)]
    results, states = {}, {}
    for precision in ("fp32", "bf16"):
        model = driftlens.models.load("tiny", weights="random")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        results[precision] = run_epoch(model, batches, optimizer, progress=False, precision=precision)
        states[precision] = model.state_dict()
    assert all(value.dtype == torch.float32 for value in states["bf16"].values() if value.is_floating_point())
    assert results["bf16"]["loss"] != results["fp32"]["loss"]
    assert abs(results["bf16"]["loss"] - results["fp32"]["loss"]) < 0.02 * results["fp32"]["loss"]


def test_render_checkpoint_refuses_an_unknown_precision(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["render-checkpoint", "--checkpoint", "c.pt", "--units", "conv3=c.txt", "--seeds", "0,1",
              "--precision", "fp16", "--rows", "r.npz", "--pngs", "r.png"])
    assert exit_info.value.code == 2 and "invalid choice: 'fp16'" in capsys.readouterr().err
