import ctypes
import re
import subprocess
import sys

import numpy as np
import pytest

from driftlens.cli import main
from driftlens.errors import MissingFileError


def test_layers_prints_one_line_per_layer_with_shape(capsys):
    assert main(["layers", "googlenet", "--size", "128"]) == 0
    lines = capsys.readouterr().out.splitlines()
    mixed4 = [line.split() for line in lines if line.startswith("mixed4")]
    assert [row[0] for row in mixed4] == ["mixed4a", "mixed4b", "mixed4c", "mixed4d", "mixed4e"]
    assert mixed4[2][1:] == ["512", "x", "8", "x", "8", "inception4c"]


def test_cli_reports_bad_input_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "driftlens.cli", "layers", "tiny", "--weights",
                             str(tmp_path / "missing.pt")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("driftlens: error:") and "missing.pt" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_module_is_listed():
    import pkgutil

    import driftlens.cli as cli

    modules = {m.name for m in pkgutil.iter_modules(cli.__path__) if not m.name.startswith("_")}
    assert modules == {module for module, _ in cli.COMMANDS.values()}
    registered = cli.build_parser()._subparsers._group_actions[0].choices
    assert set(registered) == set(cli.COMMANDS)
    for name, (module, line) in cli.COMMANDS.items():  # each module registers the command it is listed for
        parser = cli.build_parser(name)
        assert name in parser._subparsers._group_actions[0].choices
        assert parser._subparsers._group_actions[0].choices[name].description == line


def test_help_and_argument_errors_import_no_command_module_nor_torch():
    """`driftlens --help` and a mistyped command list the commands from the registry alone (fast start-up)."""
    probe = ("import sys; from driftlens.cli import main\n"
             "for argv in (['--help'], ['rendr']):\n"
             "    try: main(argv)\n"
             "    except SystemExit: pass\n"
             "heavy = sorted(m for m in sys.modules if m in ('torch', 'numpy', 'matplotlib', 'pandas') or "
             "m.startswith('driftlens.cli.') and m != 'driftlens.cli._options')\n"
             "print('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "HEAVY []" in result.stdout, result.stdout[-500:] + result.stderr[-500:]
    assert "invalid choice: 'rendr'" in result.stderr


def test_a_command_line_process_freezes_its_imports_but_a_caller_of_main_keeps_its_collector():
    """The console script moves what its imports made out of the garbage collector's reach (a faster job and exit);
    ``main(argv)`` called from Python leaves the caller's collector as it was."""
    probe = ("import gc, sys; from driftlens.cli import main\n"
             "main(['layers', 'tiny']); print('CALLED', gc.get_freeze_count())\n"
             "sys.argv = ['driftlens', 'layers', 'tiny']; main(); print('PROCESS', gc.get_freeze_count())")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    counts = dict(line.split() for line in result.stdout.splitlines() if line.startswith(("CALLED", "PROCESS")))
    assert int(counts["CALLED"]) == 0
    assert int(counts["PROCESS"]) > 10_000


@pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "gnu_get_libc_version"),
                    reason="the allocator setting is glibc's (Linux)")
def test_a_command_line_process_keeps_freed_memory_for_reuse():
    """After the console script's set-up a freed 256 MiB block stays in the process (the next batch reuses it
    without faulting its pages in again); in a plain process glibc unmaps it at once."""
    probe = ("import sys, numpy as np\n"
             "def resident(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
             "if sys.argv[1] == 'job':\n"
             "    from driftlens.cli import main; sys.argv = ['driftlens', 'layers', 'tiny']; main()\n"
             "before = resident(); block = np.ones(2**25); del block\n"
             "print('KEPT_MIB', round(resident() - before))")
    kept = {}
    for kind in ("job", "plain"):
        result = subprocess.run([sys.executable, "-c", probe, kind], capture_output=True, text=True, check=True)
        kept[kind] = int(result.stdout.split("KEPT_MIB")[1])
    assert kept["job"] > 200 and kept["plain"] < 50, kept


def test_help_lists_the_commands_first_and_the_workflow_steps_under_their_own_heading(capsys):
    import driftlens.cli as cli

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    commands, steps = text.index("\ncommands:\n"), text.index("\nworkflow steps (run by the Snakemake rules):\n")
    assert commands < steps
    listed = {line.split()[0]: text.index(line) for line in text.splitlines() if line.startswith("  ") and
              line.split()[0] in cli.COMMANDS}
    assert set(listed) == set(cli.COMMANDS)
    assert all(commands < listed[name] < steps for name in cli.USER_COMMANDS)
    assert all(listed[name] > steps for name in cli.WORKFLOW_STEPS)


def _row(path, layer, channels, value):
    import numpy as np

    from driftlens.artifacts import RenderedRow, write_row

    epoch = int(path.stem.split("_")[1])
    write_row(path, RenderedRow(np.full((2, len(channels), 8, 8, 3), value, dtype=np.float32), channels, [0, 1],
                                layer, epoch))


def test_grid_labels_rows_by_epoch_and_columns_by_channel(tmp_path):
    from PIL import Image

    for epoch in (0, 3):
        _row(tmp_path / f"epoch_{epoch:03d}.npz", "conv2", [0, 5], epoch / 3)
    assert main(["grid", "--rows", str(tmp_path / "epoch_000.npz"), str(tmp_path / "epoch_003.npz"),
                 "-o", str(tmp_path / "merged.png")]) == 0
    width, height = Image.open(tmp_path / "merged.png").size
    assert 2 * 8 < width and 2 * 8 + 12 < height < 2 * 8 + 60


def test_grid_puts_channels_in_row_labels_when_rows_differ(tmp_path):
    _row(tmp_path / "epoch_000.npz", "conv2", [0, 5], 0.2)
    _row(tmp_path / "epoch_001.npz", "conv3", [1, 2], 0.8)
    assert main(["grid", "--rows", str(tmp_path / "epoch_000.npz"), str(tmp_path / "epoch_001.npz"),
                 "--label-layers", "-o", str(tmp_path / "before_after.png")]) == 0
    from PIL import Image

    grid = np.asarray(Image.open(tmp_path / "before_after.png").convert("L"))
    assert grid.shape[1] > 2 * 8 + 60  # room for labels such as "conv3  epoch 1  ch 1,2"
    assert len(np.unique(grid)) > 3  # two grey rows and black label text on white


def test_an_internal_error_shows_its_traceback_not_one_line(monkeypatch):
    import driftlens.cli.layers as layers

    def bug(args):
        raise ValueError("an internal bug, not the user's input")

    monkeypatch.setattr(layers, "run", bug)
    with pytest.raises(ValueError, match="an internal bug"):
        main(["layers", "tiny"])


def test_debug_shows_the_traceback_of_a_user_error(tmp_path):
    with pytest.raises(MissingFileError, match="missing.pt does not exist"):
        main(["--debug", "layers", "tiny", "--weights", str(tmp_path / "missing.pt")])
    assert main(["layers", "tiny", "--weights", str(tmp_path / "missing.pt")]) == 2


def test_a_workflow_step_ends_its_log_with_its_wall_and_cpu_time_and_a_command_for_people_does_not(tmp_path, capsys):
    _row(tmp_path / "epoch_000.npz", "conv2", [0, 5], 0.2)
    capsys.readouterr()
    assert main(["grid", "--rows", str(tmp_path / "epoch_000.npz"), "-o", str(tmp_path / "merged.png")]) == 0
    last = capsys.readouterr().err.splitlines()[-1]
    match = re.fullmatch(r"driftlens: grid done in (\d+\.\d) s \((\d+\.\d) s CPU\)", last)
    assert match and float(match[2]) > 0  # the process's CPU time since it started, imports included
    assert main(["layers", "tiny"]) == 0
    assert "done in" not in capsys.readouterr().err


def test_steps_that_read_tables_and_tile_images_start_without_torch():
    """The grid and the channel choice from the screen read tables and images only: a job starts in about a second,
    not the several seconds that importing torch (and scipy) takes."""
    probe = ("import sys, driftlens.cli.grid, driftlens.cli.channels, driftlens.change.screen, driftlens.change\n"
             "driftlens.change.screen.channel_labels, driftlens.change.MIN_EFFECT\n"
             "print('HEAVY', sorted(m for m in sys.modules if m in ('torch', 'scipy.stats', 'matplotlib')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "HEAVY []" in result.stdout, result.stdout[-500:] + result.stderr[-500:]


def _compare_inputs(tmp_path, images=8):
    """Two checkpoint files and a probe folder of ``images`` images: enough for the argument checks, which read no
    file's contents."""
    for epoch in (0, 1):
        (tmp_path / f"checkpoint-{epoch}.pt").write_bytes(b"")
    (tmp_path / "probe" / "a").mkdir(parents=True)
    for k in range(images):
        (tmp_path / "probe" / "a" / f"{k}.png").write_bytes(b"")
    return [str(tmp_path / "checkpoint-0.pt"), str(tmp_path / "checkpoint-1.pt"), "--model", "tiny", "--layers",
            "conv2", "--probe", str(tmp_path / "probe"), "--no-progress"]


@pytest.mark.parametrize("alpha", ["5", "1", "0", "-0.1", "x"])
def test_compare_refuses_a_false_discovery_rate_outside_0_and_1_when_parsing(tmp_path, capsys, alpha):
    with pytest.raises(SystemExit) as stopped:
        main(["compare", *_compare_inputs(tmp_path), "--alpha", alpha])
    assert stopped.value.code == 2
    assert "argument --alpha: must be a number between 0 and 1 (both excluded)" in capsys.readouterr().err


def test_compare_names_a_folder_given_as_a_checkpoint(tmp_path, capsys):
    argv = _compare_inputs(tmp_path)
    (tmp_path / "run").mkdir()
    assert main(["compare", argv[0], str(tmp_path / "run"), *argv[2:]]) == 2
    assert f"{tmp_path / 'run'} is a folder, not a checkpoint file" in capsys.readouterr().err
    assert main(["compare", "--checkpoints", str(tmp_path / "*"), *argv[2:]]) == 2  # the glob matches probe/
    assert f"{tmp_path / 'probe'} is a folder, not a checkpoint file (the glob" in capsys.readouterr().err


def test_compare_refuses_an_output_that_is_a_file(tmp_path, capsys):
    argv = _compare_inputs(tmp_path)
    (tmp_path / "taken.txt").write_text("")
    for output in ("taken.txt", "taken.txt/screens"):
        assert main(["compare", *argv, "-o", str(tmp_path / output)]) == 2
        assert f"{tmp_path / 'taken.txt'} is a file, not a folder" in capsys.readouterr().err


def test_compare_checks_its_arguments_before_importing_torch_or_loading_anything(tmp_path):
    """Each bad argument is named at once: before torch, a model or a probe image is loaded."""
    good = _compare_inputs(tmp_path)
    (tmp_path / "few").mkdir()
    (tmp_path / "file.txt").write_text("")
    cases = {"no such checkpoint file": [str(tmp_path / "missing.pt"), *good[1:]],
             "matches no file": ["--checkpoints", str(tmp_path / "none-*.pt"), *good[2:]],
             "holds 0 images": [*good, "--probe", str(tmp_path / "few")],
             "is not a folder": [*good, "--probe", str(tmp_path / "file.txt")],
             "is a file, not a folder": [*good, "-o", str(tmp_path / "file.txt")]}
    probe = ("import sys, time; from driftlens.cli import main\n"
             f"for argv in {list(cases.values())!r}:\n"
             "    start = time.perf_counter(); status = main(['compare', *argv])\n"
             "    print('STATUS', status, f'{time.perf_counter() - start:.2f}')\n"
             "print('HEAVY', sorted(m for m in sys.modules if m in ('torch', 'torchvision', 'numpy', 'PIL')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    statuses = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("STATUS")]
    assert [status for status, _ in statuses] == ["2"] * len(cases), result.stdout[-500:] + result.stderr[-2000:]
    assert all(float(seconds) < 5 for _, seconds in statuses), statuses
    assert "HEAVY []" in result.stdout, result.stdout[-500:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("driftlens: error:")]
    assert len(errors) == len(cases) and all(word in line for word, line in zip(cases, errors)), result.stderr
