import subprocess
import sys

from driftlens.cli import main


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
    assert modules == set(cli.COMMANDS.values())
    registered = cli.build_parser()._subparsers._group_actions[0].choices
    assert set(registered) == set(cli.COMMANDS)
