"""The web manager in a real browser: Debian's Chromium, headless, via Selenium.

The server runs in this process (uvicorn in a thread) on test:///default, so
the test's own pyvirt connection shares the driver's state with it: a change
made through the API must show up in the open page without a reload.
Screenshots go to $PYVIRT_WEB_SCREENSHOTS (default build/web-screenshots).
Fixtures shared with the other browser tests live in web_fixtures.py.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

import pyvirt

pytest.importorskip("selenium", reason="selenium not installed")
pytest.importorskip("uvicorn", reason="uvicorn not installed")

from selenium.webdriver.common.by import By  # noqa: E402
from web_fixtures import (GUEST, NEEDS_CHROMIUM, NOVNC, SHOTS, XTERM,  # noqa: E402,F401
                          browser, fill_kernel_guest, log_in, serving, severe_logs,
                          vnc_canvas_size, wait_for)

from pyvirt.constants import VIR_DOMAIN_RUNNING  # noqa: E402
from pyvirt.drivers.base import (DomainRef, DriverConnection,  # noqa: E402
                                 HypervisorConnection, register_driver)
from pyvirt.drivers.test.state import SHARED_DEFAULT  # noqa: E402

pytestmark = NEEDS_CHROMIUM


class EchoConsole(HypervisorConnection):
    """``browserfake:///``: one running domain whose serial console echoes in upper case."""

    GUEST = DomainRef("guest", bytes(range(16)), 1)

    def domain_lookup_by_name(self, name):
        return self.GUEST

    def domain_get_state(self, dom, flags):
        return VIR_DOMAIN_RUNNING, 1

    def domain_open_console(self, dom, dev_name, stream, flags):
        stream.write(b"guest login: ")
        stream.on_data(lambda data: stream.write(data.upper()))


class EchoConsoleDriver:
    name = "browserfake"

    def open(self, uri, flags, readonly):
        if uri is None or uri.driver != "browserfake":
            return None
        return DriverConnection(uri=str(uri), hypervisor=EchoConsole())


register_driver(EchoConsoleDriver())


@pytest.fixture
def server():
    with serving(["test:///default", "browserfake:///"]) as base:
        yield base


def state_cell(driver, name: str) -> str:
    return driver.find_element(
        By.CSS_SELECTOR, f'tr[data-domain="{name}"] [data-field="state"]').text


def test_start_a_vm_and_watch_it_change_live(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    SHARED_DEFAULT.reset_for_tests()            # libvirt's defaults, whatever ran before
    conn = pyvirt.open("test:///default")       # shares the server's test driver state
    try:
        conn.lookupByName("test").destroy()
        log_in(browser, server, "alice")
        browser.save_screenshot(str(SHOTS / "hosts.png"))

        # Tab A: the VM list, live.
        browser.get(server + "/hosts/0/domains")
        wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body")
                 .get_attribute("data-live") == "1", timeout=20)
        assert state_cell(browser, "test") == "shut off"
        browser.execute_script("window.__notReloaded = true;")
        list_tab = browser.current_window_handle

        # Tab B: the VM page; press Start there.
        browser.switch_to.new_window("tab")
        browser.get(server + "/hosts/0/domains/test")
        browser.execute_script("window.__beforeClick = true;")
        browser.find_element(By.ID, "action-start").click()
        wait_for(browser, lambda d: d.execute_script("return !window.__beforeClick"))
        wait_for(browser, lambda d: d.find_element(By.ID, "dom-state").text == "running")
        assert "Domain 'test' started" in browser.find_element(By.CSS_SELECTOR, ".flash-ok").text

        # Tab A saw the change without a reload.
        browser.switch_to.window(list_tab)
        wait_for(browser, lambda d: state_cell(d, "test") == "running")
        assert browser.execute_script("return window.__notReloaded === true")

        # A dropped socket reconnects, and updates flow again.
        browser.execute_script("PV.testHookDropSocket();")
        wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body")
                 .get_attribute("data-live") == "0")
        wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body")
                 .get_attribute("data-live") == "1")

        # A change made through the API, outside the browser, shows up too.
        conn.lookupByName("test").suspend()
        wait_for(browser, lambda d: state_cell(d, "test") == "paused")
        conn.lookupByName("test").resume()
        wait_for(browser, lambda d: state_cell(d, "test") == "running")
        wait_for(browser, lambda d: d.find_element(
            By.CSS_SELECTOR, 'tr[data-domain="test"] [data-field="cpu"]').text.endswith("%"))
        browser.save_screenshot(str(SHOTS / "vm-list.png"))

        # The VM page's graphs fill in; its buttons follow the live state.
        browser.switch_to.new_window("tab")
        browser.get(server + "/hosts/0/domains/test")
        wait_for(browser, lambda d: d.find_element(
            By.CSS_SELECTOR, '.graph [data-field="net"]').text.startswith("rx"))
        conn.lookupByName("test").suspend()
        wait_for(browser, lambda d: d.find_element(By.ID, "action-resume").is_displayed())
        assert not browser.find_element(By.ID, "action-suspend").is_displayed()
        conn.lookupByName("test").resume()
        wait_for(browser, lambda d: d.find_element(By.ID, "action-suspend").is_displayed())
        time.sleep(2.5)       # let a few samples draw the graphs for the screenshot
        browser.save_screenshot(str(SHOTS / "vm-page.png"))

        browser.get(server + "/hosts/0")
        wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body")
                 .get_attribute("data-live") == "1")
        conn.defineXML("<domain type='test'><name>fresh</name><memory>131072</memory>"
                       "<os><type>hvm</type></os></domain>").create()
        wait_for(browser, lambda d: "VM 'fresh' started — reload to see it"
                 in d.find_element(By.ID, "live-status").text)
        wait_for(browser, lambda d: d.find_element(By.ID, "running-count").text == "2")
        browser.save_screenshot(str(SHOTS / "host.png"))
        browser.get(server + "/hosts/0/domains/new")
        browser.save_screenshot(str(SHOTS / "wizard.png"))
        conn.storagePoolLookupByName("default-pool").createXML(
            "<volume><name>data.qcow2</name><capacity unit='GiB'>4</capacity></volume>", 0)
        for page, shot in [("/hosts/0/storage/default-pool", "pool.png"),
                           ("/hosts/0/networks", "networks.png"),
                           ("/hosts/0/domains/test/xml", "xml.png")]:
            browser.get(server + page)
            browser.save_screenshot(str(SHOTS / shot))
        browser.find_element(By.ID, "xml-preview").click()
        wait_for(browser, lambda d: "No changes." in d.page_source)

        # A read-only user sees no lifecycle buttons.
        browser.delete_all_cookies()
        log_in(browser, server, "bob")
        browser.get(server + "/hosts/0/domains/test")
        assert browser.find_elements(By.ID, "lifecycle") == []
        assert browser.find_element(By.CSS_SELECTOR, ".role").text == "read-only"
        assert severe_logs(browser) == []
    finally:
        conn.close()


@pytest.mark.skipif(not XTERM.exists(), reason="run scripts/build-web-assets.sh for xterm.js")
def test_serial_console_in_xterm(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(browser, server, "alice")
    browser.get(server + "/hosts/1/domains/guest/console")
    wait_for(browser, lambda d: d.find_element(By.ID, "console-status").text == "Connected")
    rows = (By.CSS_SELECTOR, "#terminal .xterm-rows")
    wait_for(browser, lambda d: "guest login:" in d.find_element(*rows).text)
    browser.find_element(By.CSS_SELECTOR, "#terminal textarea").send_keys("root")
    wait_for(browser, lambda d: "guest login: ROOT" in d.find_element(*rows).text)
    browser.save_screenshot(str(SHOTS / "console.png"))
    assert severe_logs(browser) == []


@pytest.mark.skipif(not (shutil.which("qemu-system-x86_64") and (GUEST / "vmlinuz").exists()
                         and (GUEST / "initrd.gz").exists() and XTERM.exists()),
                    reason="needs qemu-system-x86_64, the test guest "
                           "(scripts/build-test-guest.sh var/guest) and xterm.js")
def test_qemu_guest_from_the_wizard_to_deletion(browser, tmp_path):
    """A real QEMU guest (TCG): wizard, start, boot marker in the console, typing,
    the CPU graph moving, graceful shutdown seen live, deletion."""
    uri = f"qemu:///embed?root={tmp_path}"
    conn = pyvirt.open(uri)                 # the same driver state as the server's
    try:
        with serving([uri]) as base:
            log_in(browser, base, "alice")
            form = fill_kernel_guest(browser, base, "web-guest")
            form.find_element(By.NAME, "start").click()
            browser.save_screenshot(str(SHOTS / "qemu-wizard.png"))
            form.find_element(By.ID, "w-create").click()
            wait_for(browser, lambda d: "Domain 'web-guest' defined and started"
                     in d.find_element(By.CSS_SELECTOR, ".flash-ok").text, timeout=20)

            browser.find_element(By.LINK_TEXT, "Serial console").click()
            rows = (By.CSS_SELECTOR, "#terminal .xterm-rows")
            wait_for(browser, lambda d: "PYVIRT-GUEST-READY" in d.find_element(*rows).text,
                     timeout=30)
            browser.find_element(By.CSS_SELECTOR, "#terminal textarea").send_keys(
                "echo typed-$((40+2))\n")
            wait_for(browser, lambda d: "typed-42" in d.find_element(*rows).text, timeout=15)
            browser.save_screenshot(str(SHOTS / "qemu-console.png"))

            browser.get(base + "/hosts/0/domains/web-guest")
            cpu_history = "return PV.series['0/web-guest/cpu'] || []"
            wait_for(browser, lambda d: len(d.execute_script(cpu_history)) >= 3
                     and max(d.execute_script(cpu_history)) > 0, timeout=15)
            browser.save_screenshot(str(SHOTS / "qemu-vm-page.png"))
            browser.execute_script("window.__notReloaded = true;")
            conn.lookupByName("web-guest").shutdown()       # ACPI: the guest powers off
            wait_for(browser, lambda d: d.find_element(By.ID, "dom-state").text == "shut off",
                     timeout=30)
            assert browser.execute_script("return window.__notReloaded === true")
            browser.execute_script("window.confirm = () => true;")
            browser.find_element(By.ID, "action-undefine").click()
            wait_for(browser, lambda d: "Domain 'web-guest' undefined"
                     in d.find_element(By.CSS_SELECTOR, ".flash-ok").text)
            assert 'data-domain="web-guest"' not in browser.page_source
    finally:
        for dom in conn.listAllDomains(pyvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            dom.destroy()
        conn.close()


@pytest.mark.skipif(not (shutil.which("qemu-system-x86_64") and (GUEST / "vmlinuz").exists()
                         and (GUEST / "initrd.gz").exists() and NOVNC.exists()),
                    reason="needs qemu-system-x86_64, the test guest and noVNC "
                           "(scripts/build-web-assets.sh)")
def test_qemu_vnc_display_in_novnc(browser, tmp_path):
    """The VNC display of a real QEMU guest, bridged by the server, drawn by noVNC."""
    uri = f"qemu:///embed?root={tmp_path}"
    # QEMU runs as the unprivileged guest user and binds the VNC socket itself: a
    # socket path chosen in the XML must lie in a directory that user may write to
    # (pytest's own tmp dirs are root's, 0700).
    sockdir = Path(tempfile.mkdtemp(prefix="pyvirt-vnc-"))
    sockdir.chmod(0o777)
    conn = pyvirt.open(uri)
    try:
        conn.defineXML(f"""<domain type='qemu'><name>vnc-guest</name>
            <memory unit='MiB'>128</memory><vcpu>1</vcpu>
            <os><type arch='x86_64' machine='pc'>hvm</type>
              <kernel>{GUEST / 'vmlinuz'}</kernel><initrd>{GUEST / 'initrd.gz'}</initrd>
              <cmdline>quiet</cmdline></os>
            <devices><graphics type='vnc' socket='{sockdir / "vnc.sock"}'/>
              <video><model type='vga'/></video></devices></domain>""").create()
        with serving([uri]) as base:
            log_in(browser, base, "alice")
            size = vnc_canvas_size(browser, base, "vnc-guest")
            assert size[0] >= 640 and size[1] >= 400       # the guest's VGA framebuffer
            time.sleep(1)
            browser.save_screenshot(str(SHOTS / "qemu-vnc.png"))
            assert severe_logs(browser) == []
    finally:
        for dom in conn.listAllDomains(pyvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            dom.destroy()
        conn.close()
        shutil.rmtree(sockdir, ignore_errors=True)
