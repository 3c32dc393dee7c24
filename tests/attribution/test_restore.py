"""Attribution leaves the model exactly as it was: no hooks, same modules, same weights and modes, same outputs."""

import pytest
import torch
import torch.nn.functional as F
from torch.nn.modules import module as torch_module

import driftlens
from driftlens.attribution import METHODS, attribute

CHEAP = {"smoothgrad": {"samples": 2}, "guided_smoothgrad": {"samples": 2}, "integrated_gradients": {"steps": 2},
         "occlusion": {"window": 32, "stride": 32}}
TORCH_RELU = (F.relu, torch.relu, F.relu6, F.hardtanh)


@pytest.fixture(scope="module", params=["tiny", "googlenet", "efficientnet_lite0"])
def model(request):
    return driftlens.models.load(request.param, weights="random")


def _hooks_left(model) -> list[str]:
    hook_dicts = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return [f"{name or 'model'}.{attr}" for name, module in model.named_modules() for attr in hook_dicts
            if getattr(module, attr, None)]


def _global_state_is_clean() -> bool:
    return (not torch._C._is_torch_function_mode_enabled()
            and (F.relu, torch.relu, F.relu6, F.hardtanh) == TORCH_RELU
            and not torch_module._global_forward_hooks and not torch_module._global_backward_hooks)


def _snapshot(model):
    return ([(name, id(module), module.training) for name, module in model.named_modules()],
            {key: value.clone() for key, value in model.state_dict().items()})


@pytest.mark.parametrize("method", sorted(METHODS))
def test_model_is_unchanged_after_each_method(model, method):
    size = 32 if model.name == "tiny" else 64
    x = torch.rand(2, 3, size, size)
    model.eval()
    with torch.no_grad():
        before = model(x)
    model.train()  # batch norm would update its running statistics if attribution ran in train mode
    modules, state = _snapshot(model)

    attribute(model, x, [1, 2], method, **CHEAP.get(method, {}))

    assert _hooks_left(model) == []
    assert _global_state_is_clean()
    after_modules, after_state = _snapshot(model)
    assert after_modules == modules
    assert all(torch.equal(state[key], after_state[key]) for key in state)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), before)


@pytest.mark.parametrize("method", ["gradcam", "guided_gradcam", "guided_backprop", "smoothgrad", "occlusion"])
def test_hooks_and_interception_are_released_when_a_method_fails(tiny, method):
    with pytest.raises(IndexError):
        attribute(tiny, torch.rand(1, 3, 32, 32), ("conv2", 99), method, **CHEAP.get(method, {}))
    assert _hooks_left(tiny) == []
    assert _global_state_is_clean()
    assert tiny.training is False
