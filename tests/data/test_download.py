"""Downloads from a local HTTP server: checksums, truncated transfers, retries, offline messages."""

import logging

import pytest
from torchvision.datasets.utils import calculate_md5

from driftlens.data import flowers17, prepare, read_splits
from driftlens.data.download import extract, fetch
from driftlens.errors import DownloadError


@pytest.fixture
def server(serve, small_archive):
    return serve(small_archive.parent)


def test_fetch_with_the_right_md5_gives_the_file(server, small_archive, tmp_path):
    base, _ = server
    target = tmp_path / "dl" / "17flowers.tgz"

    assert fetch(f"{base}/17flowers.tgz", target, calculate_md5(small_archive)) == target

    assert target.read_bytes() == small_archive.read_bytes()
    assert not target.with_name("17flowers.tgz.part").exists()


def test_checksum_mismatch_fails_and_leaves_no_file(server, tmp_path):
    base, _ = server
    target = tmp_path / "dl" / "17flowers.tgz"

    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        fetch(f"{base}/17flowers.tgz", target, "0" * 32)

    assert f"{base}/17flowers.tgz" in str(info.value) and str(target) in str(info.value)
    assert list(target.parent.iterdir()) == []


def test_truncated_transfer_fails_cleanly_and_a_retry_succeeds(server, small_archive, tmp_path):
    base, handler = server
    target = tmp_path / "dl" / "17flowers.tgz"
    md5 = calculate_md5(small_archive)
    handler.truncate = True

    with pytest.raises(DownloadError, match="truncated"):
        fetch(f"{base}/17flowers.tgz", target, md5)
    assert list(target.parent.iterdir()) == []

    handler.truncate = False
    fetch(f"{base}/17flowers.tgz", target, md5)
    assert calculate_md5(target) == md5


def test_a_partial_file_left_by_a_killed_run_is_replaced(server, small_archive, tmp_path):
    base, _ = server
    target = tmp_path / "dl" / "17flowers.tgz"
    target.parent.mkdir()
    target.with_name("17flowers.tgz.part").write_bytes(small_archive.read_bytes()[:100])

    fetch(f"{base}/17flowers.tgz", target, calculate_md5(small_archive))

    assert target.read_bytes() == small_archive.read_bytes()


def test_extract_moves_the_top_folder_into_place(small_archive, tmp_path):
    images = extract(small_archive, tmp_path / "data", "jpg")

    assert sorted(p.name for p in images.iterdir()) == ["image_0001.jpg", "image_0002.jpg", "image_0003.jpg"]
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["jpg"]


def test_extract_names_a_missing_top_folder(small_archive, tmp_path):
    with pytest.raises(ValueError, match="no top-level folder 'images'"):
        extract(small_archive, tmp_path / "data", "images")
    assert list((tmp_path / "data").iterdir()) == []


def test_flowers17_download_with_the_wrong_archive_fails_on_its_checksum(server, tmp_path):
    base, _ = server
    root = tmp_path / "flowers17"

    with pytest.raises(DownloadError, match="checksum mismatch"):
        prepare("flowers17", root, url=f"{base}/17flowers.tgz")

    assert not (root / "17flowers.tgz").exists() and not (root / "splits.json").exists()


def test_flowers17_downloads_unpacks_and_splits(serve, full_archive, tmp_path, monkeypatch, caplog):
    base, _ = serve(full_archive.parent)
    monkeypatch.setattr(flowers17, "ARCHIVE_MD5", calculate_md5(full_archive))
    root = tmp_path / "flowers17"

    with caplog.at_level(logging.WARNING):
        record = read_splits(prepare("flowers17", root, url=f"{base}/17flowers.tgz"))

    assert (root / "17flowers.tgz").is_file() and len(list((root / "jpg").iterdir())) == 1360
    assert [len(record[s]) for s in ("train", "val", "test")] == [680, 340, 340]
    assert "official splits unavailable" in caplog.text  # the server has no datasplits.mat


def test_offline_flowers17_names_the_url_and_where_to_put_the_file(tmp_path):
    root = tmp_path / "flowers17"
    url = "http://127.0.0.1:9/17flowers.tgz"  # the discard port: nothing listens there

    with pytest.raises(DownloadError) as info:
        prepare("flowers17", root, url=url)

    message = str(info.value)
    assert url in message and str(root / "17flowers.tgz") in message and "--source" in message
    assert "`datasets.flowers17.source`" in message and "driftlens fetch" in message
