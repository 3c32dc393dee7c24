"""The shared command-line options: one --device for every command, ``auto`` included."""

import argparse

import pytest
import torch

from driftlens.cli import build_parser
from driftlens.cli._options import device_of


@pytest.mark.parametrize("command", ["train-epoch", "render-checkpoint", "change", "compare"])
def test_every_torch_command_takes_device_auto(command):
    parser = build_parser(command)
    action = next(a for a in parser._subparsers._group_actions[0].choices[command]._actions if "--device" in
                  a.option_strings)
    assert action.default is None and "auto" in action.help


@pytest.mark.parametrize("asked, expected", [(None, "cuda" if torch.cuda.is_available() else "cpu"),
                                             ("auto", "cuda" if torch.cuda.is_available() else "cpu"),
                                             ("cpu", "cpu")])
def test_device_auto_and_none_choose_cuda_when_available(asked, expected):
    assert device_of(argparse.Namespace(device=asked)) == expected


def test_a_layer_path_argument_without_its_layer_is_named(capsys):
    from driftlens.cli import main

    assert main(["render-checkpoint", "--checkpoint", "c.pt", "--units", "conv3", "--seeds", "0,1", "--rows", "r.npz",
                 "--pngs", "r.png"]) == 2
    assert "--units takes LAYER=PATH items, got 'conv3'" in capsys.readouterr().err
