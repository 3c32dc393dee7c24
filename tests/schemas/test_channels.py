"""The channel spec's text form: what the workflow writes, select-channels reads back unchanged."""

import pytest

from driftlens.errors import ConfigError
from driftlens.schemas.channels import FORMS, channel_spec_text, parse_channel_spec


@pytest.mark.parametrize("channels, epoch, text", [
    ([0, 7, 3], None, "0,7,3"),
    ([5], 4, "5"),  # an epoch only matters to most_changed
    ({"top_k": 4}, None, "top_k:4"),
    ({"most_changed": 2, "least_changed": 1}, 3, "most_changed:2,least_changed:1,epoch:3"),
    ({"most_changed": 2, "least_changed": 0}, None, "most_changed:2,least_changed:0"),
    ({"most_changed": 2, "least_changed": 1, "epoch": 5}, 5, "most_changed:2,least_changed:1,epoch:5"),
    ({"least_changed": 1, "most_changed": 2}, 3, "most_changed:2,least_changed:1,epoch:3"),  # a sorted config
])
def test_the_text_of_every_config_form_reads_back_to_it(channels, epoch, text):
    assert channel_spec_text(channels, epoch if isinstance(channels, dict) and "most_changed" in channels else None) \
        == text
    expected = {**channels, "epoch": epoch} if isinstance(channels, dict) and epoch is not None else channels
    assert parse_channel_spec(text) == expected


@pytest.mark.parametrize("text", ["", "0,a", "top_k:x", "top:3", "most_changed:2", "top_k:2,epoch:3",
                                  "most_changed:2,least_changed:1,seed:0", "0,top_k:2"])
def test_text_in_none_of_the_forms_is_refused_with_the_forms(text):
    with pytest.raises(ConfigError) as raised:
        parse_channel_spec(text)
    assert str(raised.value) == f"channels must be {FORMS}, got {text!r}"
