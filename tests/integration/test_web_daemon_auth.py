"""Daemon mode for real: pyvirtd with SASL (SCRAM-SHA-256) on its unix socket and
access rules giving ``alice`` every right and ``bob`` read-only rights; the manager
logs each user in through ``openAuth`` and works through that user's own
connections, in headless Chromium.

* bob's page shows no lifecycle buttons; a forged start POST sent from his page is
  refused by the DAEMON, the page shows its error, and the domain did not start;
* alice starts and force-offs the domain with the buttons;
* a wrong password shows the daemon's refusal on the login page.

pyvirtd runs in a thread of this process serving ``qemu:///system`` rooted in a
tmp dir (the ``PYVIRT_QEMU_TEST_SYSTEM_ROOT`` hook). The domain needs no kernel.
"""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("selenium", reason="selenium not installed")

from selenium.webdriver.common.by import By  # noqa: E402
from web_fixtures import (NEEDS_CHROMIUM, SHOTS, browser, daemon_thread,  # noqa: E402,F401
                          serving_app, severe_logs, wait_for)

from pyvirt.daemon import saslpasswd  # noqa: E402
from pyvirt.drivers.qemu.state_dir import SYSTEM_ROOT_ENV  # noqa: E402
from pyvirt.web.app import WebConfig, create_app  # noqa: E402
from pyvirt.web.daemon_login import daemon_logins, open_as  # noqa: E402

pytestmark = [NEEDS_CHROMIUM,
              pytest.mark.skipif(not shutil.which("qemu-system-x86_64"),
                                 reason="needs qemu-system-x86_64 (apt-get install "
                                        "qemu-system-x86)")]

PASSWORDS = {"alice": "alice-Secret-1", "bob": "bob-Secret-2"}
RULES = """\
# the web users: alice may do anything, bob may look
allow sasl:alice  *
allow sasl:bob    connect:*
allow sasl:bob    *:read
allow sasl:bob    *:getattr
allow sasl:bob    *:search_*
"""
DOMAIN = """<domain type='qemu'><name>sasl-vm</name><memory unit='MiB'>64</memory>
  <vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>"""


@pytest.fixture
def sasl_daemon(tmp_path, monkeypatch):
    """(uri, rules path, audit log path) of a pyvirtd asking SASL on its rw socket."""
    monkeypatch.setenv(SYSTEM_ROOT_ENV, str(tmp_path / "root"))
    passwd, rules, audit = tmp_path / "sasl-passwd", tmp_path / "access.rules", \
        tmp_path / "audit.log"
    for name, password in PASSWORDS.items():
        saslpasswd.add_user(str(passwd), name, password)
    rules.write_text(RULES)
    with daemon_thread(tmp_path, auth_unix_rw="sasl", sasl_passwd_file=str(passwd),
                       access_rules_file=str(rules), audit_log=str(audit)) as daemon:
        yield f"qemu+unix:///system?socket={daemon.rw_path}", str(rules), audit


def log_in_as(driver, base: str, name: str, password: str) -> None:
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").clear()
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-button").click()


def state_text(driver) -> str:
    return driver.find_element(By.ID, "dom-state").text


def test_the_daemon_decides_what_each_user_sees_and_does(sasl_daemon, browser):
    uri, rules_path, audit = sasl_daemon
    setup = open_as(uri, "alice", PASSWORDS["alice"])
    setup.defineXML(DOMAIN)
    logins = daemon_logins([uri], rules_path)
    app = create_app(WebConfig(uris=[uri], logins=logins))
    try:
        with serving_app(app) as base:
            # A wrong password: the daemon's refusal, on the login page.
            log_in_as(browser, base, "bob", "not-his-password")
            # the form posts, the daemon refuses, the login page comes back with the words
            error = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR,
                                                               ".flash-error")).text
            assert error.startswith("Login failed: authentication failed")
            assert browser.find_element(By.ID, "login-mode").is_displayed()
            assert browser.find_element(By.ID, "username").get_attribute("value") == "bob"
            browser.save_screenshot(str(SHOTS / "daemon-login-refused.png"))

            # bob: read-only by the daemon's rules -- no lifecycle buttons.
            log_in_as(browser, base, "bob", PASSWORDS["bob"])
            wait_for(browser, lambda d: d.current_url.rstrip("/") == base)
            browser.get(base + "/hosts/0/domains/sasl-vm")
            assert state_text(browser) == "shut off"
            assert browser.find_elements(By.ID, "lifecycle") == []
            assert browser.find_element(By.CSS_SELECTOR, ".role").text == "read-only"
            browser.save_screenshot(str(SHOTS / "daemon-bob-readonly.png"))

            # A forged POST from bob's page: the manager passes it on, the DAEMON refuses.
            browser.execute_script("""
                const form = document.createElement('form');
                form.method = 'post';
                form.action = '/hosts/0/domains/sasl-vm/action/start';
                const csrf = document.createElement('input');
                csrf.name = 'csrf'; csrf.value = document.body.dataset.csrf;
                form.appendChild(csrf); document.body.appendChild(form); form.submit();""")
            wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash-error"))
            refusal = browser.find_element(By.CSS_SELECTOR, ".flash-error").text
            assert refusal.startswith("access denied: 'QEMU' denied access"), refusal
            assert "do not let 'bob' start domain 'sasl-vm'" in refusal
            assert state_text(browser) == "shut off"
            assert not setup.lookupByName("sasl-vm").isActive()
            browser.save_screenshot(str(SHOTS / "daemon-bob-refused.png"))

            # Logging out closes bob's connections.
            assert len(logins) == 1
            browser.find_element(By.CSS_SELECTOR, ".who button.link").click()
            wait_for(browser, lambda d: d.find_elements(By.ID, "login-button"))
            assert len(logins) == 0

            # alice: every button; start and force off through her own connection.
            log_in_as(browser, base, "alice", PASSWORDS["alice"])
            wait_for(browser, lambda d: d.current_url.rstrip("/") == base)
            browser.get(base + "/hosts/0/domains/sasl-vm")
            assert browser.find_element(By.CSS_SELECTOR, ".role").text == "daemon rules"
            browser.find_element(By.ID, "action-start").click()
            wait_for(browser, lambda d: state_text(d) == "running", timeout=30)
            assert setup.lookupByName("sasl-vm").isActive()
            browser.save_screenshot(str(SHOTS / "daemon-alice.png"))
            browser.find_element(By.ID, "action-destroy").click()
            browser.switch_to.alert.accept()
            wait_for(browser, lambda d: state_text(d) == "shut off", timeout=30)
            unexpected = [entry for entry in severe_logs(browser)    # (the failed login's
                          if "/login - " not in entry["message"]]     # 401 is expected)
            assert unexpected == []
            assert len(logins) == 1
    finally:
        logins.close_all()
        dom = setup.lookupByName("sasl-vm")
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        setup.close()
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    starts = [r for r in records if r["procedure"].startswith("DOMAIN_CREATE")]
    assert [(r["identity"].get("sasl_user"), r["outcome"]) for r in starts] == [
        ("bob", "failure"), ("alice", "success")]              # the audit log names them
