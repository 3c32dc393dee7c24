"""The prepared GPU check and the cost estimate run (the GPU check in its reduced CPU mode); their figures are
measured, so the tests check their form and consistency, never values."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def test_gpu_check_runs_reduced_on_the_cpu_and_stores_its_rates_as_dated_data(tmp_path):
    result = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--reduced"], cwd=REPO,
                            env={**ENV, "OUT": str(tmp_path)}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rates = yaml.safe_load((tmp_path / "gpu_rates.yaml").read_text())
    assert rates["experiment"] == "demo" and rates["device"].startswith("CPU") and re.fullmatch(r"\d{4}-\d\d-\d\d",
                                                                                                 rates["date"])
    assert all(rates[key] > 0 for key in ("render_step_s", "train_image_s", "eval_image_s", "startup_s"))
    assert re.search(r"flowers17 render job: \d+ s wall \(45 images", result.stdout)
    assert re.search(r"flowers17 warm-started render job: \d+ s wall \(45 images, 1 steps", result.stdout)
    assert all((tmp_path / f"{layer}.npz").is_file() for layer in ("mixed3b", "Mixed_4c_Branch_3_b_1x1", "mixed5b"))


def test_the_estimate_counts_the_workflows_own_jobs_and_projects_a_wall_time(tmp_path):
    rates = tmp_path / "rates.yaml"
    rates.write_text(yaml.safe_dump({"device": "a test device", "date": "2026-12-03", "render_step_s": 0.5,
                                     "train_image_s": 0.02, "eval_image_s": 0.005, "startup_s": 2.0}))
    result = subprocess.run([sys.executable, "benchmarks/bench_pipeline.py", "--estimate", "demo", "--cores", "2",
                             "--gpu-rates", str(rates)], cwd=REPO, env=ENV, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    given = result.stdout.split("demo, cold renders, on a test device, measured 2026-12-03")[1]
    rows = dict(re.findall(r"^  (\w+)\s+(\d+) jobs", given, re.MULTILINE))
    assert rows["render_demo"] == "4" and rows["train_epoch"] == "3" and rows["representation"] == "4"
    # with the given rates: 4 render jobs of 2 s + 64 steps x 0.5 s, one of them (the head-only epoch) reused
    render = re.search(r"render_demo\s+4 jobs\s+(\d+) min (\d+) s", given)
    assert int(render[1]) * 60 + int(render[2]) == round(3 * (2 + 64 * 0.5) + (2 + 2.0))
    assert re.search(r"projected wall time on 2 cores: \d+ min \d+ s .*1 render jobs reused", given)


def test_the_estimate_projects_warm_started_renders_as_a_chain_beside_the_cold_ones(tmp_path):
    rates = tmp_path / "rates.yaml"
    rates.write_text(yaml.safe_dump({"device": "a test device", "date": "2026-12-06", "render_step_s": 0.5,
                                     "train_image_s": 0.02, "eval_image_s": 0.005, "startup_s": 2.0}))
    result = subprocess.run([sys.executable, "benchmarks/bench_pipeline.py", "--estimate", "demo", "--cores", "2",
                             "--gpu-rates", str(rates), "--warm-steps", "16"], cwd=REPO, env=ENV, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    cold = result.stdout.split("demo, cold renders, on a test device")[1].split("demo, warm")[0]
    warm = result.stdout.split("demo, warm-started renders (16 steps after the first epoch), on a test device")[1]
    seconds = {name: re.search(r"render_demo\s+4 jobs\s+(\d+) min (\d+) s", text) for name, text in
               (("cold", cold), ("warm", warm))}
    seconds = {name: int(found[1]) * 60 + int(found[2]) for name, found in seconds.items()}
    # epoch 0 from noise (64 steps), epoch 1 reused (the head-only stage), epochs 2 and 3 continue for 16 steps
    assert seconds["warm"] == round((2 + 64 * 0.5) + (2 + 2.0) + 2 * (2 + 16 * 0.5))
    assert seconds["cold"] == round(3 * (2 + 64 * 0.5) + (2 + 2.0))
    assert re.search(r"the render chain ends at \d+ min \d+ s", warm) and "render chain" not in cold
