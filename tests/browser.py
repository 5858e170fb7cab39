"""Headless Chromium (Debian's chromium + chromium-driver) driven by selenium, with the flags this machine needs,
and the console's errors kept so that a test can fail on any."""

from __future__ import annotations

import shutil
import tempfile

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1280,2400",
)


def available() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


class _Chrome(webdriver.Chrome):
    """Chrome whose throwaway profile folder goes with it: quit() also removes it (about 1 MB per browser)."""

    def __init__(self, profile: str, **kwargs):
        self._profile = profile
        try:
            super().__init__(**kwargs)
        except Exception:
            shutil.rmtree(profile, ignore_errors=True)
            raise

    def quit(self) -> None:
        try:
            super().quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)


def start(extra_flags: tuple[str, ...] = ()) -> webdriver.Chrome:
    """`extra_flags`: e.g. --ignore-certificate-errors for a site served with a test's self-signed certificate."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (*FLAGS, *extra_flags):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = _Chrome(profile, service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    return driver


def console_errors(driver) -> list[str]:
    """The console's SEVERE entries (script errors, refused resources, policy violations) since the last call:
    reading the log empties it, so a test that provokes an error on purpose reads it, and the rest must be clean."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_css(driver, selector: str, timeout: float = 30, text: str | None = None):
    """The visible element at `selector` (holding `text` if given); on a timeout the message says what the page held
    instead, so a failure on a busy machine can be read from the log alone."""
    wait = WebDriverWait(driver, timeout)
    try:
        if text is not None:
            wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))
        return wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))
    except TimeoutException as exc:
        try:
            found = driver.find_elements(By.CSS_SELECTOR, selector)
            held = repr(found[0].text[:300]) if found else "no such element"
        except StaleElementReferenceException:
            held = "an element re-rendered while it was read"
        raise TimeoutException(f"{selector} waited for {text!r} for {timeout} s; it holds {held}") from exc


def click_when_settled(driver, by: str, value: str, timeout: float = 30) -> None:
    """Click the element found by (by, value), finding it again if a callback re-rendered it in between (Dash
    may render a result twice on a busy machine: the element found first is then gone)."""
    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(by, value).click() or True
    )


def wait_value(driver, selector: str, timeout: float = 30) -> str:
    """The non-empty value of the input at `selector`, read from the element found anew at each try (a callback
    that fills it may re-render it)."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(By.CSS_SELECTOR, selector).get_attribute("value"),
        f"{selector} was still empty after {timeout} s",
    )


def type_into(driver, selector: str, keys: str, timeout: float = 30):
    """The text box at `selector`, holding exactly `keys`: typed again, into the box found anew, when a re-render
    replaced it or the typing was lost (a busy machine), so that what the test waits for next is the answer to
    the value it meant. A controlled React input ignores clear(): its text is selected and typed over."""

    def typed(d):
        box = d.find_element(By.CSS_SELECTOR, selector)
        if box.get_attribute("value") != keys:
            box.send_keys(Keys.CONTROL, "a")
            box.send_keys(keys)
        return box if box.get_attribute("value") == keys else False

    return WebDriverWait(driver, timeout, poll_frequency=1, ignored_exceptions=(StaleElementReferenceException,)).until(
        typed, f"{selector} did not come to hold {keys!r} in {timeout} s"
    )


def sign_in(driver, base: str, username: str, password: str) -> None:
    driver.get(base + "/")
    wait_css(driver, "#username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    click_when_settled(driver, By.ID, "sign-in")  # found again if the form re-rendered after the typing
