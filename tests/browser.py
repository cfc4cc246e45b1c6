"""Headless Chromium from the distribution (chromium + chromium-driver), driven by selenium.

One browser per test module (`launch`), a fresh profile each time, and the flags that keep it
off the network: on a closed network Chromium otherwise waits on connection attempts. The
console log is collected so a test can assert that a page raised no error; screenshots are
kept under the test's tmp_path and copied to reports/browser-tests/ (a CI artifact).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "reports" / "browser-tests"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
    "--hide-scrollbars",
)


def _binaries() -> tuple[str | None, str | None]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    return chromium, shutil.which("chromedriver")


def unavailable() -> str | None:
    """Why no browser test can run here, or None when Chromium and its driver are installed."""
    chromium, driver = _binaries()
    if chromium is None or driver is None:
        return (
            "Chromium is not installed (apt-get install chromium chromium-driver; .ci/run "
            "installs both when it runs as root)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


class Browser:
    """One Chromium session: open pages, read the console, keep screenshots."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        """Load `url`; the console log starts empty for it."""
        self.driver.get_log("browser")  # reading drains what earlier pages logged
        self.driver.get(url)

    def console_errors(self) -> list[str]:
        """Console errors and uncaught exceptions since the last read (level SEVERE)."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def keep_screenshot(self, tmp_path: Path, name: str, css: str | None = None) -> Path:
        """Screenshot the page (or the element at `css`) into tmp_path and reports/browser-tests/.

        Without `css` the window grows to the page's height (at most 4,000 px) first.
        """
        path = tmp_path / f"{name}.png"
        if css is not None:
            self.find(css).screenshot(str(path))
        else:
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(1280, min(max(int(height), 600), 4000))
            self.driver.save_screenshot(str(path))
            self.driver.set_window_size(1280, 1000)
        with contextlib.suppress(OSError):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, ARTIFACTS / path.name)
        return path

    def click_and_wait(self, css: str) -> None:
        """Click the element at `css` and wait until the page it submits to has loaded."""
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.find("html")
        self.find(css).click()
        wait = WebDriverWait(self.driver, 15)
        wait.until(lambda _: _replaced(page))
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def find(self, css: str) -> Any:
        """The first element matching the CSS selector."""
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        """Every element matching the CSS selector."""
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))


def _replaced(element: Any) -> bool:
    """Whether `element` belongs to a page that has been navigated away from.

    Chromium answers for an element of the old document either "stale element reference" or,
    caught mid-navigation, "Node with given id does not belong to the document": both mean it.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in (exc.msg or ""):
            return True
        raise
    return False


@contextlib.contextmanager
def launch(profile: Path) -> Iterator[Browser]:
    """Start headless Chromium with a fresh profile in `profile`; skip when it is missing."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # No speculative connections: a preconnected socket that never sends a request holds a
    # gunicorn sync worker until its timeout (the service runs sync workers).
    options.add_experimental_option("prefs", {"net.network_prediction_options": 2})
    driver = webdriver.Chrome(options=options, service=Service(str(driver_path)))
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
