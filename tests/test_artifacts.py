"""The render row artifact (driftlens.artifacts): its round trip, and the wrong files it names."""

import numpy as np
import pytest

from driftlens import artifacts
from driftlens.io import save_npz


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
