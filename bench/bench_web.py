"""pyvirt-web: the VM list with 500 domains, and event-to-screen latency.

    .venv/bin/python bench/bench_web.py [--domains 500] [--repeat 15] [--events 20]

The manager is served by uvicorn on 127.0.0.1 (a thread of this process) on
test:///default filled with N domains (half running). Each number is printed
beside a baseline measured in the same run:

* **VM list page, HTTP** (GET /hosts/0/domains, logged in, full body): beside
  the pyvirt API calls the page itself needs (``listAllDomains`` + ``info()``
  per domain) — the ratio is what rendering, the session and HTTP add on top
  of the data; and beside the real ``virsh list --all`` of the same N domains
  (``test:///node.xml``, a whole process) as a familiar yardstick.
* **VM list page, in headless Chromium** (when chromium + chromedriver exist):
  navigation start to the load event, beside the same page loaded with scripts
  off (``Emulation.setScriptExecutionDisabled``): the render without live data.
* **Event to client**: ``dom.suspend()``/``resume()`` through the API → the
  lifecycle message received by a WebSocket client; and → the state badge
  changed in Chromium's DOM (a MutationObserver stamps the time). Baseline: the
  same events delivered to a plain ``domainEventRegisterAny`` callback in this
  process — pyvirt's own delivery, which every web update rides on.
* **Daemon mode** (``--daemon-domains N``, 0 skips it): pyvirtd (a thread) with SASL
  on its unix socket serving ``test:///default`` with N domains. A login (POST
  /login: ``openAuth`` with SCRAM-SHA-256, the user's own connection kept) beside
  ``openAuth`` + ``close`` alone; the VM list page through that user's connection
  beside the API data for the page over the same kind of authenticated connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from _timing import time_calls, time_command  # noqa: E402

import httpx  # noqa: E402
import uvicorn  # noqa: E402
import websockets  # noqa: E402

import pyvirt  # noqa: E402
from pyvirt.drivers.test.state import SHARED_DEFAULT  # noqa: E402
from pyvirt.web.app import WebConfig, create_app  # noqa: E402
from pyvirt.web.events import ensure_event_loop  # noqa: E402
from pyvirt.web.users import UserStore  # noqa: E402

PASSWORD = "bench-pass"


def line(what: str, ours: list[float], base: list[float], base_name: str) -> None:
    mine, theirs = statistics.median(ours), statistics.median(base)
    print(f"{what}: {mine * 1e3:.2f} ms, {base_name} {theirs * 1e3:.2f} ms, "
          f"ratio {mine / theirs:.2f}x (median of {len(ours)})")


def domain_xml(i: int) -> str:
    return (f"<domain type='test'><name>vm{i:04d}</name><memory>131072</memory>"
            f"<vcpu>1</vcpu><os><type>hvm</type></os></domain>")


def fill(conn, count: int) -> None:
    """test:///default with ``count`` domains (its own 'test' included), half running."""
    for i in range(1, count):
        dom = conn.defineXML(domain_xml(i))
        if i % 2:
            dom.create()


def node_xml(count: int) -> str:
    """The same domains for the real virsh, as a test:///node.xml file."""
    doms = "".join(domain_xml(i) for i in range(count))
    return f"<node>{doms}</node>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve() -> tuple[uvicorn.Server, str]:
    users = UserStore()
    users.add("alice", "admin", PASSWORD, iterations=1000)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(WebConfig(uris=["test:///default"],
                                                             users=users)),
                                        host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.01)
    return srv, f"127.0.0.1:{port}"


def page_data(conn) -> None:
    """What the VM list page asks the API for."""
    for dom in conn.listAllDomains(0):
        dom.name()
        dom.info()


class CallbackClock:
    """A plain lifecycle callback: when did pyvirt deliver the last event?"""

    def __init__(self, conn) -> None:
        self.seen = threading.Event()
        self.at = 0.0
        conn.domainEventRegisterAny(None, pyvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                    self._on_event, None)

    def _on_event(self, _conn, dom, _event, _detail, _opaque) -> None:
        if dom.name() == "test":
            self.at = time.perf_counter()
            self.seen.set()

    def wait(self) -> float:
        assert self.seen.wait(10), "no lifecycle callback"
        self.seen.clear()
        return self.at


def toggle(dom) -> None:
    if dom.state()[0] == pyvirt.VIR_DOMAIN_PAUSED:
        dom.resume()
    else:
        dom.suspend()


async def socket_latency(addr: str, cookie: str, dom, clock: CallbackClock,
                         events: int) -> tuple[list[float], list[float]]:
    web, base = [], []
    async with websockets.connect(f"ws://{addr}/ws?hosts=0",
                                  additional_headers={"Cookie": cookie,
                                                      "Origin": f"http://{addr}"}) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        for _ in range(events):
            start = time.perf_counter()
            toggle(dom)
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] == "lifecycle" and msg["domain"] == "test":
                    break
            web.append(time.perf_counter() - start)
            base.append(clock.wait() - start)
    return web, base


def chromium_driver():
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        return None, None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="pyvirt-bench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1360,900"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(chromedriver), options=options), profile


def page_loads(driver, addr: str, repeat: int) -> tuple[list[float], list[list[float]]]:
    """Load the VM list ``repeat`` times: seconds to the load event, and the
    (response end, DOMContentLoaded, load) milliseconds of each load."""
    loads, parts = [], []
    for _ in range(repeat):
        driver.get(f"http://{addr}/hosts/0/domains")
        timing = driver.execute_script(
            "const t = performance.getEntriesByType('navigation')[0];"
            "return [t.responseEnd, t.domContentLoadedEventEnd, t.loadEventEnd]"
            ".map(x => x - t.startTime);")
        loads.append(timing[2] / 1e3)
        parts.append(timing)
    return loads, parts


def browser_numbers(addr: str, cookie_value: str, conn, dom, clock: CallbackClock,
                    repeat: int, events: int) -> None:
    driver, profile = chromium_driver()
    if driver is None:
        print("headless Chromium: skipped (no chromium / chromedriver)")
        return
    try:
        driver.get(f"http://{addr}/login")
        driver.add_cookie({"name": "pyvirt_session", "value": cookie_value})
        loads, parts = page_loads(driver, addr, repeat)
        print("  (median ms: response end {:.1f}, DOMContentLoaded {:.1f}, load {:.1f})".format(
            *(statistics.median(p[i] for p in parts) for i in range(3))))
        # Baseline: the very same page with scripts off (no live data, no sparklines).
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        static_loads, _ = page_loads(driver, addr, repeat)
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
        line(f"VM list page in headless Chromium ({len(conn.listAllDomains(0))} domains, "
             "navigation to load event)", loads, static_loads,
             "same page with scripts off")
        driver.get(f"http://{addr}/hosts/0/domains")
        # Event -> DOM: a MutationObserver stamps the badge change (epoch ms).
        while driver.find_element("tag name", "body").get_attribute("data-live") != "1":
            time.sleep(0.02)
        driver.execute_script("""
            const cell = document.querySelector('tr[data-domain="test"] [data-field="state"]');
            window.__changed = null;
            new MutationObserver(() => { window.__changed = Date.now(); })
                .observe(cell, {childList: true, characterData: true, subtree: true});""")
        screen, base = [], []
        for _ in range(events):
            driver.execute_script("window.__changed = null;")
            wall, start = time.time(), time.perf_counter()
            toggle(dom)
            base.append(clock.wait() - start)
            while (changed := driver.execute_script("return window.__changed")) is None:
                time.sleep(0.002)
            screen.append(changed / 1e3 - wall)
            time.sleep(0.05)
        line("lifecycle event -> state badge changed in Chromium's DOM", screen, base,
             "plain pyvirt callback")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--daemon-domains", type=int, default=100)
    args = parser.parse_args()

    SHARED_DEFAULT.reset_for_tests()
    conn = pyvirt.open("test:///default")
    fill(conn, args.domains)
    ensure_event_loop()
    srv, addr = serve()
    try:
        client = httpx.Client(base_url=f"http://{addr}")
        client.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/"})
        session = client.cookies["pyvirt_session"]
        page = client.get("/hosts/0/domains")
        assert page.status_code == 200 and page.text.count("<tr data-domain=") == args.domains

        http = time_calls(lambda: client.get("/hosts/0/domains"), args.repeat)
        data = time_calls(lambda: page_data(conn), args.repeat)
        line(f"VM list page over HTTP ({args.domains} domains, {len(page.content)} bytes)",
             http, data, "API data for the page")
        virsh = shutil.which("virsh")
        if virsh:
            with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as node:
                node.write(node_xml(args.domains))
            try:
                real = time_command([virsh, "-c", f"test://{node.name}", "list", "--all"],
                                    args.repeat)
            finally:
                os.unlink(node.name)
            line("VM list page over HTTP", http, real,
                 f"real virsh list --all of {args.domains} (whole process)")

        dom = conn.lookupByName("test")
        clock = CallbackClock(conn)
        web, base = asyncio.run(socket_latency(addr, f"pyvirt_session={session}", dom, clock,
                                               args.events))
        line("lifecycle event -> WebSocket message received", web, base,
             "plain pyvirt callback")
        browser_numbers(addr, session, conn, dom, clock, args.repeat, args.events)
    finally:
        srv.should_exit = True
        conn.close()
    if args.daemon_domains:
        daemon_numbers(args.daemon_domains, args.repeat)


def daemon_numbers(count: int, repeat: int) -> None:
    """Daemon-mode login and VM list through the user's own SASL connection."""
    from pyvirt.daemon import saslpasswd
    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.thread import DaemonThread
    from pyvirt.web.daemon_login import DaemonLogins, open_as

    folder = tempfile.mkdtemp(prefix="pyvirt-bench-web-")
    passwd = os.path.join(folder, "sasl-passwd")
    saslpasswd.add_user(passwd, "alice", PASSWORD)
    daemon = DaemonThread(DaemonConfig(unix_sock_dir=folder, listen_tcp=False,
                                       listen_tls=False, auth_unix_rw="sasl",
                                       sasl_passwd_file=passwd, audit_logging=False)).start()
    uri = f"test+unix:///default?socket={daemon.rw_path}"
    SHARED_DEFAULT.reset_for_tests()                # the daemon's test:///default, afresh
    setup = open_as(uri, "alice", PASSWORD)
    logins = DaemonLogins([uri])
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(WebConfig(uris=[uri], logins=logins)),
                                        host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.01)
    try:
        fill(setup, count)
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(repeat)]
        pending = iter(clients)

        def log_in() -> None:
            answer = next(pending).post("/login", data={"username": "alice",
                                                        "password": PASSWORD})
            assert answer.status_code == 303, answer.text

        login = time_calls(log_in, repeat)
        bare = time_calls(lambda: open_as(uri, "alice", PASSWORD).close(), repeat)
        line("daemon mode: login (openAuth, SCRAM-SHA-256, connection kept)", login, bare,
             "openAuth + close alone")
        page = clients[0].get("/hosts/0/domains")                # warm, untimed
        assert page.text.count("<tr data-domain=") == count
        http = time_calls(lambda: clients[0].get("/hosts/0/domains"), repeat)
        page_data(setup)                                         # warm, untimed
        data = time_calls(lambda: page_data(setup), repeat)
        line(f"daemon mode: VM list page ({count} domains, the user's own connection)", http,
             data, "API data for the page over SASL")
    finally:
        srv.should_exit = True
        logins.close_all()
        setup.close()
        daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
