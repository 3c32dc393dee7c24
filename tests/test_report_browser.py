"""The report page in a real browser: Debian's headless Chromium driven through chromedriver (selenium).

CI installs both with ``.ci/install-browser.sh``; there a missing browser fails the tests. Elsewhere
(the environment variable ``CI`` unset) the tests are skipped with the reason.
"""

import importlib.util
import os
import shutil
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from driftlens.report import write_report


def _sibling_module(name):
    """Import a test module beside this one (pytest's importlib import mode does not put tests/ on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report_fakes = _sibling_module("test_report")
LAYERS, EPOCHS = report_fakes.LAYERS, report_fakes.EPOCHS

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run")
LOAD_SECONDS_LIMIT = 10


def headless_chromium(user_data_dir):
    """A selenium driver for Debian's chromium with a fresh profile in ``user_data_dir``, logging the console."""
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed (Debian: apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI installs them with .ci/install-browser.sh")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in CHROMIUM_FLAGS + (f"--user-data-dir={user_data_dir}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    """A report of pictures the size of real ones (a row of 128 px noise squares per epoch)."""
    exp_dir = report_fakes.fake_experiment(tmp_path_factory.mktemp("report"), side=128, attribution=True)
    files = report_fakes.files_of(exp_dir, attribution=True)
    return write_report("exp", LAYERS, EPOCHS, files, exp_dir / "report.html").resolve().as_uri()


@pytest.fixture
def page(browser, page_url):
    """The page freshly loaded; ``page.load_seconds`` is how long ``get`` took (it returns after onload)."""
    browser.get_log("browser")  # drop messages of earlier tests
    start = time.perf_counter()
    browser.get(page_url)
    browser.load_seconds = time.perf_counter() - start
    yield browser
    assert severe_console_messages(browser) == []


def severe_console_messages(driver):
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def first_player(driver):
    """The first layer's frame image, epoch label, slider and play button."""
    player = driver.find_element(By.CSS_SELECTOR, ".player")
    return {name: player.find_element(By.CSS_SELECTOR, selector) for name, selector in
            [("image", "img.frame"), ("label", ".epoch-label"), ("slider", "input[type=range]"),
             ("button", "button.play")]}


def image_widths(driver):
    """naturalWidth of every <img>, after waiting for each to decode (a broken one reports 0)."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const images = Array.from(document.images);
        Promise.all(images.map(img => img.decode().catch(() => null)))
            .then(() => done(images.map(img => img.naturalWidth)));
    """)


def test_page_loads_from_file_quickly_without_errors_or_network(page, page_url):
    assert page_url.startswith("file://")
    navigation_ms = page.execute_script(
        "return performance.getEntriesByType('navigation')[0].loadEventEnd")
    print(f"\nreport page: {len(page.page_source) / 1e6:.1f} MB of HTML, loaded in {page.load_seconds:.2f} s "
          f"(navigation timing: {navigation_ms:.0f} ms to the end of onload)")
    assert 0 < page.load_seconds < LOAD_SECONDS_LIMIT
    assert page.title == "driftlens · exp"
    assert severe_console_messages(page) == []
    resources = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [name for name in resources if not name.startswith("data:")] == []


def test_every_image_loads(page):
    widths = image_widths(page)
    # per layer frame, merged, exemplars; the 4 figures; a volcano per screened layer (the shown ones and one more);
    # the attribution grid
    assert len(widths) == len(LAYERS) * 3 + 4 + len(LAYERS) + 1 + 1
    assert all(width > 0 for width in widths), widths
    player = first_player(page)
    for _ in EPOCHS[1:]:
        player["slider"].send_keys(Keys.ARROW_RIGHT)
        assert image_widths(page)[0] > 0


def test_slider_changes_the_shown_epoch(page):
    player = first_player(page)
    first_src = player["image"].get_attribute("src")
    assert player["label"].text == f"epoch {EPOCHS[0]}"
    player["slider"].send_keys(Keys.END)
    assert player["label"].text == f"epoch {EPOCHS[-1]}"
    assert player["image"].get_attribute("src") not in ("", first_src)
    player["slider"].send_keys(Keys.HOME)
    assert player["label"].text == f"epoch {EPOCHS[0]}"
    assert player["image"].get_attribute("src") == first_src


def test_play_steps_through_the_epochs_until_paused(page):
    player = first_player(page)
    first_src = player["image"].get_attribute("src")
    player["button"].click()
    assert player["button"].text == "Pause"
    WebDriverWait(page, 5).until(lambda _: player["label"].text == f"epoch {EPOCHS[1]}")
    assert player["image"].get_attribute("src") != first_src
    WebDriverWait(page, 5).until(lambda _: player["label"].text == f"epoch {EPOCHS[2]}")
    player["button"].click()
    assert player["button"].text == "Play"
    paused_at = player["label"].text
    time.sleep(1.0)
    assert player["label"].text == paused_at


def test_a_click_enlarges_a_picture_and_a_second_click_closes_it(page):
    merged = page.find_elements(By.CSS_SELECTOR, "section img")[1]
    small = merged.size["width"]
    merged.click()
    enlarged = merged.size["width"]
    assert "zoomed" in merged.get_attribute("class") and enlarged > small
    merged.click()
    assert "zoomed" not in merged.get_attribute("class") and merged.size["width"] == small
