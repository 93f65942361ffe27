"""The web manager against a real pyvirtd and a real QEMU guest, in headless Chromium.

pyvirtd runs in a thread of this process (``DaemonThread``, sockets in a tmp dir)
and serves ``qemu:///embed?root=TMP`` — the daemon accepts the embedded URI, so no
``qemu:///system`` state is touched. pyvirt-web manages it only through the remote
URI ``qemu+unix:///embed?root=TMP&socket=...``: every click below crosses the wire.
Screenshots go to $PYVIRT_WEB_SCREENSHOTS (default build/web-screenshots, git-ignored).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest

import pyvirt

pytest.importorskip("selenium", reason="selenium not installed")
pytest.importorskip("uvicorn", reason="uvicorn not installed")

from selenium.webdriver.common.by import By  # noqa: E402
from web_fixtures import (GUEST, HAVE_CHROMIUM, HAVE_GUEST, NOVNC, SHOTS,  # noqa: E402,F401
                          XTERM, browser, fill_kernel_guest, flash_ok, log_in, pyvirtd,
                          pyvirtd_uri, serving, vnc_canvas_size, wait_for)

pytestmark = pytest.mark.skipif(
    not (HAVE_CHROMIUM and HAVE_GUEST and shutil.which("qemu-img")
         and XTERM.exists() and NOVNC.exists()),
    reason="needs chromium + chromium-driver, qemu-system-x86_64, qemu-img, the test guest "
           "(scripts/build-test-guest.sh var/guest) and the web assets "
           "(scripts/build-web-assets.sh)")


def make_dir_pool(conn, path: Path) -> None:
    """A started dir pool the unprivileged QEMU user can reach (tmp_path is 0700)."""
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    pool = conn.storagePoolDefineXML(f"<pool type='dir'><name>vms</name><target>"
                                     f"<path>{path}</path></target></pool>", 0)
    pool.create(0)


def posted_status(driver, url: str, form: dict) -> int:
    """POST ``form`` (plus the page's CSRF token) from the page with fetch; the status."""
    return driver.execute_async_script("""
        const [url, form, done] = arguments;
        const body = new URLSearchParams(form);
        body.set('csrf', document.body.dataset.csrf || '');
        fetch(url, {method: 'POST', body, redirect: 'manual'})
            .then(r => done(r.status), () => done(-1));""", url, form)


def test_remote_qemu_guest_through_pyvirtd(pyvirtd_uri, browser):
    """Wizard (qcow2 disk from a dir pool, kernel boot), start, serial console with
    typing, CPU graph, VNC canvas, snapshot take + revert, shut down, delete; a
    read-only user is refused by the server. All over the remote driver."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    pooldir = Path(tempfile.mkdtemp(prefix="pyvirt-web-pool-"))
    pooldir.chmod(0o777)
    conn = pyvirt.open(pyvirtd_uri)            # a second client of the same pyvirtd
    try:
        make_dir_pool(conn, pooldir / "vms")
        with serving([pyvirtd_uri]) as base_url:
            log_in(browser, base_url, "alice")
            assert "QEMU" in browser.find_element(By.TAG_NAME, "body").text
            form = fill_kernel_guest(browser, base_url, "remote-guest")
            form.find_element(By.CSS_SELECTOR, "input[name=disk][value=new]").click()
            size = form.find_element(By.NAME, "disk_gib")
            size.clear()
            size.send_keys("1")
            browser.save_screenshot(str(SHOTS / "remote-wizard.png"))
            form.find_element(By.ID, "w-create").click()
            wait_for(browser, lambda d: "Domain 'remote-guest' defined" in flash_ok(d))
            dom = conn.lookupByName("remote-guest")
            assert "type='qcow2'" in dom.XMLDesc(0)
            # The VM gets a VNC display too (defined through the other client), then
            # starts. QEMU runs as the unprivileged guest user and binds the socket:
            # it goes into the world-writable pool parent (tmp_path is root's, 0700).
            xml = dom.XMLDesc(0).replace(
                "</devices>", f"<graphics type='vnc' socket='{pooldir / 'vnc.sock'}'/>"
                "<video><model type='vga'/></video></devices>")
            conn.defineXML(xml)
            browser.refresh()
            browser.find_element(By.ID, "action-start").click()
            wait_for(browser, lambda d: "Domain 'remote-guest' started" in flash_ok(d),
                     timeout=30)
            wait_for(browser, lambda d: d.find_element(By.ID, "dom-state").text == "running")

            browser.find_element(By.LINK_TEXT, "Serial console").click()
            rows = (By.CSS_SELECTOR, "#terminal .xterm-rows")
            wait_for(browser, lambda d: "PYVIRT-GUEST-READY" in d.find_element(*rows).text,
                     timeout=40)
            browser.find_element(By.CSS_SELECTOR, "#terminal textarea").send_keys(
                "echo remote-$((40+2))\n")
            wait_for(browser, lambda d: "remote-42" in d.find_element(*rows).text)
            browser.save_screenshot(str(SHOTS / "remote-console.png"))

            canvas = vnc_canvas_size(browser, base_url, "remote-guest")
            assert canvas[0] >= 640 and canvas[1] >= 400
            browser.save_screenshot(str(SHOTS / "remote-vnc.png"))

            browser.get(base_url + "/hosts/0/domains/remote-guest")
            cpu = "return PV.series['0/remote-guest/cpu'] || []"
            wait_for(browser, lambda d: len(d.execute_script(cpu)) >= 3
                     and max(d.execute_script(cpu)) > 0, timeout=20)

            # Snapshot: take (internal, qcow2) and revert.
            browser.find_element(By.NAME, "snap_name").send_keys("before")
            browser.find_element(By.ID, "snapshot-create").click()
            wait_for(browser, lambda d: d.find_elements(
                By.CSS_SELECTOR, 'li[data-snapshot="before"]'), timeout=40)
            assert conn.lookupByName("remote-guest").snapshotListNames() == ["before"]
            browser.execute_script("window.confirm = () => true;")
            browser.find_element(
                By.CSS_SELECTOR, 'li[data-snapshot="before"] form[action$="/revert"] button'
            ).click()
            wait_for(browser, lambda d: "revert" in flash_ok(d).lower(), timeout=40)
            wait_for(browser, lambda d: d.find_element(By.ID, "dom-state").text == "running")
            browser.save_screenshot(str(SHOTS / "remote-vm-page.png"))

            # A read-only user, in a second browser session: no buttons, and the
            # server refuses the request the buttons would have sent.
            admin_cookies = browser.get_cookies()
            browser.delete_all_cookies()
            log_in(browser, base_url, "bob")
            browser.get(base_url + "/hosts/0/domains/remote-guest")
            assert browser.find_elements(By.ID, "lifecycle") == []
            assert browser.find_elements(By.ID, "snapshot-create") == []
            for url, form in [("/hosts/0/domains/remote-guest/action/destroy", {}),
                              ("/hosts/0/domains/remote-guest/snapshots", {"snap_name": "x"}),
                              ("/hosts/0/domains/new", {"name": "intruder"})]:
                assert posted_status(browser, base_url + url, form) == 403, url
            assert conn.lookupByName("remote-guest").isActive()
            assert conn.lookupByName("remote-guest").snapshotListNames() == ["before"]
            assert "intruder" not in conn.listDefinedDomains()

            browser.delete_all_cookies()
            for cookie in admin_cookies:
                browser.add_cookie(cookie)
            browser.get(base_url + "/hosts/0/domains/remote-guest")
            browser.execute_script("window.confirm = () => true;")
            browser.find_element(By.ID, "action-shutdown").click()   # ACPI power-off
            wait_for(browser, lambda d: "is being shut down" in flash_ok(d))
            browser.save_screenshot(str(SHOTS / "remote-shutdown.png"))
            for _ in range(400):
                if not conn.lookupByName("remote-guest").isActive():
                    break
                time.sleep(0.1)
            assert not conn.lookupByName("remote-guest").isActive(), "guest still running"
            wait_for(browser, lambda d: d.find_element(By.ID, "dom-state").text == "shut off")
            browser.execute_script("window.confirm = () => true;")    # 'Delete ...?'
            browser.find_element(By.ID, "action-undefine").click()
            wait_for(browser, lambda d: "undefined" in d.find_element(By.CSS_SELECTOR,
                                                                      ".flash").text)
            assert [f.text for f in browser.find_elements(By.CSS_SELECTOR, ".flash")] == [
                "Domain 'remote-guest' undefined"]
            assert "remote-guest" not in conn.listDefinedDomains()
    finally:
        for dom in conn.listAllDomains(pyvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            dom.destroy()
        conn.close()
        shutil.rmtree(pooldir, ignore_errors=True)


ODD = "it's \"odd\" <b>ü & more"          # no '/': libvirt refuses that (tested too)


def test_bad_input_through_pyvirtd(pyvirtd, browser):
    """Over the remote test:///default: an odd VM name end to end, a name with '/',
    invalid XML in the editor, a second tab acting on a VM the first deleted, and
    requests without a session or with a forged one."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    uri = f"test+unix:///default?socket={pyvirtd}"
    conn = pyvirt.open(uri)                 # holds the daemon's shared test state
    try:
        with serving([uri]) as base_url:
            log_in(browser, base_url, "alice")

            # A name with '/' is refused with libvirt's message; the form keeps its values.
            browser.get(base_url + "/hosts/0/domains/new")
            browser.find_element(By.NAME, "name").send_keys("a/b")
            browser.find_element(By.ID, "w-create").click()
            wait_for(browser, lambda d: d.find_elements(By.ID, "wizard-error"))
            assert browser.find_element(By.ID, "wizard-error").text == \
                "XML error: name a/b cannot contain '/'"
            assert browser.find_element(By.NAME, "name").get_attribute("value") == "a/b"
            assert "a/b" not in conn.listDefinedDomains()

            # Quotes, spaces, unicode and markup: shown as text, linked quoted, usable.
            name = browser.find_element(By.NAME, "name")
            name.clear()
            name.send_keys(ODD)
            browser.find_element(By.ID, "w-create").click()
            wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash-ok"))
            assert flash_ok(browser) == f"Domain '{ODD}' defined"
            assert browser.find_element(By.TAG_NAME, "h1").text.startswith(ODD)
            assert browser.find_elements(By.CSS_SELECTOR, "h1 b") == []    # not markup
            browser.find_element(By.ID, "action-start").click()
            wait_for(browser, lambda d: d.find_element(By.ID, "dom-state").text == "running")
            assert conn.lookupByName(ODD).isActive()
            browser.get(base_url + "/hosts/0/domains")
            browser.find_element(By.CSS_SELECTOR, "input[type=search], #filter").send_keys("odd")
            wait_for(browser, lambda d: [r.get_attribute("data-domain") for r in d.find_elements(
                By.CSS_SELECTOR, "tr[data-domain]") if r.is_displayed()] == [ODD])
            browser.save_screenshot(str(SHOTS / "remote-odd-name.png"))

            # Invalid XML: the error is shown, nothing is saved (not even when posted).
            before = conn.lookupByName("test").XMLDesc(0)
            browser.get(base_url + "/hosts/0/domains/test/xml")
            browser.execute_script(
                "document.getElementById('xml').value = '<domain><name>test</name><memory>';")
            browser.find_element(By.ID, "xml-preview").click()
            wait_for(browser, lambda d: d.find_elements(By.ID, "xml-error"))
            assert browser.find_element(By.ID, "xml-error").text.startswith("XML error:")
            assert browser.find_elements(By.ID, "xml-save") == []
            assert posted_status(browser, base_url + "/hosts/0/domains/test/xml/save",
                                 {"xml": "<domain><name>test</name><memory>"}) in (200, 400)
            assert conn.lookupByName("test").XMLDesc(0) == before
            browser.save_screenshot(str(SHOTS / "remote-xml-error.png"))

            # Two tabs on one VM: the second deletes it, the first then acts on it.
            browser.get(base_url + f"/hosts/0/domains/{quote(ODD)}")
            first = browser.current_window_handle
            browser.switch_to.new_window("tab")
            browser.get(base_url + f"/hosts/0/domains/{quote(ODD)}")
            browser.execute_script("window.confirm = () => true;")
            browser.find_element(By.ID, "action-destroy").click()
            wait_for(browser, lambda d: d.find_element(By.ID, "dom-state").text == "shut off")
            browser.execute_script("window.confirm = () => true;")
            browser.find_element(By.ID, "action-undefine").click()
            wait_for(browser, lambda d: f"Domain '{ODD}' undefined" in flash_ok(d))
            browser.close()
            browser.switch_to.window(first)
            wait_for(browser, lambda d: d.find_element(By.ID, "dom-state").text == "undefined")
            # The live page hid its buttons; the form it still holds is sent anyway.
            browser.execute_script("document.getElementById('action-start').form.submit();")
            wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash-error"))
            assert "Domain not found" in browser.find_element(By.CSS_SELECTOR, ".flash-error").text

            # No session, then a forged one: pages go to the login, POSTs answer 401.
            for cookie in (None, "eyJ1c2VyIjogImFsaWNlIn0=.forged.signature"):
                browser.delete_all_cookies()
                if cookie:
                    browser.add_cookie({"name": "pyvirt_session", "value": cookie})
                browser.get(base_url + "/hosts/0/domains/test")
                assert "/login?next=" in browser.current_url
                assert posted_status(browser, base_url + "/hosts/0/domains/test/action/destroy",
                                     {}) == 401
            assert conn.lookupByName("test").isActive()
    finally:
        conn.close()
