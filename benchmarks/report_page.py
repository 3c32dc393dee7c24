"""The report page at the paper's scale: build time, page size and load time in headless Chromium.

Worst case for size: every picture is incompressible noise (the tests' fake artifacts, 128 px cells).
Other engineers share the machine's CPU, so the seconds are indicative; run it alone for clean figures.

Usage: .venv/bin/python benchmarks/report_page.py [--layers 3] [--epochs 51] [--repeats 3]
"""

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

from driftlens.report import write_report

TESTS = Path(__file__).resolve().parents[1] / "tests"


def test_module(name):
    spec = importlib.util.spec_from_file_location(name, TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=51, help="epochs including epoch 0 (default: 51)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    fakes, browser_tests = test_module("test_report"), test_module("test_report_browser")
    layers, epochs = [f"layer{i}" for i in range(args.layers)], list(range(args.epochs))
    with tempfile.TemporaryDirectory() as root:
        exp_dir = fakes.fake_experiment(Path(root), layers=layers, epochs=epochs, side=128, attribution=True)
        start = time.perf_counter()
        files = fakes.files_of(exp_dir, layers, epochs, attribution=True)
        page = write_report("exp", layers, epochs, files, exp_dir / "report.html")
        build_seconds = time.perf_counter() - start
        size_mb = page.stat().st_size / 1e6
        driver = browser_tests.headless_chromium(Path(root) / "profile")
        try:
            loads = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                driver.get(page.resolve().as_uri())
                loads.append(time.perf_counter() - start)
            severe = browser_tests.severe_console_messages(driver)
        finally:
            driver.quit()
    print(f"{args.layers} layers x {args.epochs} epochs: {size_mb:.1f} MB page, built in "
          f"{build_seconds:.2f} s, loaded in {statistics.median(loads):.2f} s (median of {args.repeats}: "
          f"{', '.join(f'{s:.2f}' for s in loads)}), {len(severe)} console errors")


if __name__ == "__main__":
    main()
