"""Shared fixtures: tiny models, the location of the read-only shared data, small generated image trees and archives,
and a local HTTP server (for the data and fetch tests)."""

import functools
import http.server
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import driftlens

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def tiny():
    """The tiny CNN with random weights (32 px input, 10 classes)."""
    return driftlens.models.load("tiny", weights="random")


@pytest.fixture(autouse=True)
def _deterministic_single_thread():
    """Seed torch, and run the tests' small models on one thread: on a shared CPU, thread spinning
    costs more than it gains (subprocesses, e.g. the workflow's jobs, keep their own settings)."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _write_jpegs(folder, names, size=8):
    """Small random JPEGs at ``folder/name`` for each name; returns their paths."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / name)
        paths.append(folder / name)
    return paths


def _make_flowers_archive(path, count):
    """A ``.tgz`` holding ``jpg/image_0001.jpg`` ... like the official Flowers17 archive."""
    folder = path.parent / "archive_content"
    _write_jpegs(folder / "jpg", [f"image_{n:04d}.jpg" for n in range(1, count + 1)])
    with tarfile.open(path, "w:gz") as archive:
        archive.add(folder / "jpg", arcname="jpg")
    return path


@pytest.fixture
def small_archive(tmp_path):
    """A 3-image Flowers17-like archive."""
    return _make_flowers_archive(tmp_path / "served" / "17flowers.tgz", 3)


@pytest.fixture(scope="session")
def full_archive(tmp_path_factory):
    """A Flowers17-shaped archive of 1360 tiny images (shared by the tests: do not write beside it)."""
    return _make_flowers_archive(tmp_path_factory.mktemp("archive") / "17flowers.tgz", 1360)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; while ``truncate`` is set, announces the full length but sends only half."""

    truncate = False

    def copyfile(self, source, outputfile):
        if type(self).truncate:
            data = source.read()
            outputfile.write(data[: len(data) // 2])
        else:
            super().copyfile(source, outputfile)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Starts servers of a folder on 127.0.0.1: ``serve(folder)`` gives (base URL, handler class)."""
    servers = []

    def start(folder):
        handler = type("Handler", (_Handler,), {"truncate": False})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", handler

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()
