"""The names a user's code and the tutorial's first edition import keep working after the move to
driftlens.checkpoints: the same objects, from the old modules."""

import pytest

import driftlens.change
import driftlens.checkpoints.format
import driftlens.checkpoints.importing
import driftlens.checkpoints.reading
import driftlens.checkpoints.series
from driftlens import checkpoints, models


def test_the_old_modules_give_the_same_objects():
    from driftlens import checkpoint, importing, series

    assert series.checkpoint_series is driftlens.checkpoints.series.checkpoint_series
    assert series.PRETRAINED == checkpoints.PRETRAINED == "imagenet"
    assert checkpoint.read_checkpoint is driftlens.checkpoints.format.read_checkpoint
    assert checkpoint.load_weights_file is driftlens.checkpoints.reading.load_weights_file
    assert importing.import_checkpoint is driftlens.checkpoints.importing.import_checkpoint
    assert callable(models.from_file)
    assert models.registry.fit_keys is driftlens.checkpoints.reading.fit_keys  # its home before the move


def test_the_library_call_keeps_its_old_module():
    from driftlens.change import compare, tables

    assert compare.compare_models is tables.compare_models is driftlens.change.compare_models
    assert compare.screen_checkpoints is tables.screen_checkpoints


def test_the_package_names_each_thing_once_and_refuses_unknown_names():
    assert checkpoints.Checkpoint is driftlens.checkpoints.format.Checkpoint
    assert checkpoints.stored_epoch is driftlens.checkpoints.series.stored_epoch
    with pytest.raises(AttributeError, match="no_such_name"):
        checkpoints.no_such_name


def test_the_series_module_needs_no_torch():
    import subprocess
    import sys

    code = "import sys, driftlens.checkpoints.series; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"
