"""The tutorial notebook, the README's library snippet and docs/library.md's snippets run as written."""

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def test_tutorial_notebook_runs_and_finds_the_planted_change(tmp_path):
    notebook = nbformat.read(REPO / "examples" / "tutorial.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.outputs)
    assert "lucid (2, 4, 32, 32, 3)" in outputs and "erhan (2, 4, 32, 32, 3)" in outputs
    assert "changed: [1, 2]" in outputs
    assert "{0: 'checkpoint-0.pth.tar', 1: 'checkpoint-1.pth.tar'}" in outputs
    assert "changed (your checkpoints): [1, 2]" in outputs


def test_readme_library_snippet_runs_as_written():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## The library", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the project's own README, as a user would paste it
    assert tuple(namespace["rows"]["blocks.12"].shape) == (2, 2, 64, 64, 3)
    assert namespace["changed"].name == "efficientnet_lite0"


def test_the_library_pages_snippets_run_as_written():
    page = (REPO / "docs" / "library.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    namespace = {}
    for code in blocks:  # the second block uses the first one's imports, as a reader pasting them in turn would
        exec(compile(code, "docs/library.md", "exec"), namespace)
    changed = namespace["atlas"]["blocks.11"].query("epoch == 1 and changed").channel.tolist()
    assert len(blocks) == 2 and {3, 40} <= set(changed), changed
    assert sum(namespace["diff"].summary["counts"].values()) == len(namespace["diff"].table)
