"""What the web manager's browser tests share: headless Chromium, a manager served by
uvicorn in a thread, pyvirtd in a thread, logging in, waiting, screenshots.

Import the fixtures into a test module (``from web_fixtures import browser``);
pytest puts this directory on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("selenium", reason="selenium not installed")
pytest.importorskip("uvicorn", reason="uvicorn not installed")

import uvicorn  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from pyvirt.web.app import WebConfig, create_app  # noqa: E402
from pyvirt.web.users import UserStore  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GUEST = REPO / "var" / "guest"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
XTERM = REPO / "src/pyvirt/web/static/vendor/xterm/xterm.js"
NOVNC = REPO / "src/pyvirt/web/static/vendor/novnc/core/rfb.js"
SHOTS = Path(os.environ.get("PYVIRT_WEB_SCREENSHOTS", REPO / "build" / "web-screenshots"))
PASSWORD = "browser-pass"

HAVE_CHROMIUM = os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)
NEEDS_CHROMIUM = pytest.mark.skipif(
    not HAVE_CHROMIUM, reason="needs Debian's chromium and chromium-driver (apt-get install "
                              "chromium chromium-driver)")
HAVE_GUEST = bool(shutil.which("qemu-system-x86_64") and (GUEST / "vmlinuz").exists()
                  and (GUEST / "initrd.gz").exists())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_users(password: str = PASSWORD) -> UserStore:
    """alice (admin) and bob (read-only), both with ``password``."""
    users = UserStore()
    users.add("alice", "admin", password, iterations=1000)
    users.add("bob", "readonly", password, iterations=1000)
    return users


@contextlib.contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """uvicorn serving ``app`` in a thread; yields the base URL, stops it on exit."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(400):
        if srv.started:
            break
        time.sleep(0.025)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def serving(uris: list[str], password: str = PASSWORD, **config: Any) -> Iterator[str]:
    """The manager for ``uris`` with the users of :func:`make_users`."""
    with serving_app(create_app(WebConfig(uris=list(uris), users=make_users(password),
                                          **config))) as base:
        yield base


@pytest.fixture
def browser():
    """Debian's Chromium, headless, with a fresh profile (removed afterwards)."""
    profile = tempfile.mkdtemp(prefix="pyvirt-web-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1360,900"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, condition, timeout: float = 15):
    """Poll ``condition``; a page being replaced meanwhile is not a failure.
    On a timeout the browser's console log goes into the failure message."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(WebDriverException,)).until(condition)
    except TimeoutException:
        raise AssertionError(f"timed out on {driver.current_url}; browser log: "
                             f"{driver.get_log('browser')}") from None


def log_in(driver, base: str, user: str, password: str = PASSWORD) -> None:
    """Fill the login form and wait for the hosts page."""
    driver.get(base + "/")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-button").click()
    wait_for(driver, lambda d: d.current_url.rstrip("/") == base)


def fill_kernel_guest(driver, base: str, name: str):
    """Open the new-domain wizard and fill it for ``name``: 128 MiB, booting the
    test guest's kernel and initrd with a serial console; returns the form."""
    driver.get(base + "/hosts/0/domains/new")
    form = driver.find_element(By.ID, "wizard")
    form.find_element(By.NAME, "name").send_keys(name)
    memory = form.find_element(By.NAME, "memory")
    memory.clear()
    memory.send_keys("128")
    form.find_element(By.CSS_SELECTOR, "input[name=boot][value=kernel]").click()
    form.find_element(By.NAME, "kernel").send_keys(str(GUEST / "vmlinuz"))
    form.find_element(By.NAME, "initrd").send_keys(str(GUEST / "initrd.gz"))
    form.find_element(By.NAME, "cmdline").send_keys("console=ttyS0 quiet")
    return form


def vnc_canvas_size(driver, base: str, name: str) -> list[int]:
    """Open ``name``'s VNC page from its domain page, wait until the viewer says it
    is connected; the canvas's [width, height] ([0, 0] without a canvas)."""
    driver.get(base + f"/hosts/0/domains/{name}")
    driver.find_element(By.ID, "vnc-link").click()
    wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "body")
             .get_attribute("data-vnc") == "connected", timeout=20)
    return driver.execute_script("const c = document.querySelector('#screen canvas');"
                                 "return c ? [c.width, c.height] : [0, 0];")


def severe_logs(driver) -> list[dict]:
    """Errors the page logged (script errors, CSP violations, failed loads)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def flash_ok(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".flash-ok").text


def kill_root_qemus(root: Path) -> None:
    """SIGKILL each QEMU whose status file under the QEMU root ``root`` names a
    process still alive (a test whose connection died cannot destroy its guests)."""
    from process_fixture import kill_recorded_qemus

    from pyvirt.drivers.qemu import state_dir

    dirs = state_dir.dirs_for_root(root)
    if dirs.run.exists():
        kill_recorded_qemus(dirs)


@contextlib.contextmanager
def daemon_thread(tmp_path: Path, **config: Any) -> Iterator[Any]:
    """pyvirtd in a thread of this process, its sockets under ``tmp_path/run``; the
    remote driver registered for the test's client side while it runs. Its QEMUs
    (``tmp_path/root``, embedded or via the system-root hook) die with it."""
    from pyvirt.api._registry import load_drivers
    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.thread import DaemonThread
    from pyvirt.drivers import base
    from pyvirt.drivers.remote import RemoteDriver

    load_drivers()
    registered = any(d.name == "remote" for d in base.registered_drivers())
    if not registered:
        base.register_driver(RemoteDriver())
    settings = {"unix_sock_dir": str(tmp_path / "run"), "listen_tcp": False,
                "listen_tls": False, **config}
    daemon = DaemonThread(DaemonConfig(**settings)).start()
    try:
        yield daemon
    finally:
        daemon.stop()
        kill_root_qemus(tmp_path / "root")
        if not registered:
            base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != "remote"]


@pytest.fixture
def pyvirtd(tmp_path):
    """A pyvirtd in a thread, its sockets under tmp_path; yields its rw socket path."""
    with daemon_thread(tmp_path) as daemon:
        yield daemon.rw_path


@pytest.fixture
def pyvirtd_uri(pyvirtd, tmp_path):
    """The remote URI of the daemon's embedded QEMU root."""
    return f"qemu+unix:///embed?root={tmp_path / 'root'}&socket={pyvirtd}"
