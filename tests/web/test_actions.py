"""Every button works through the public API, and failures read like libvirt's."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from .conftest import flashes

DOM = "/hosts/0/domains/test"


def state_of(admin, name="test") -> str:
    page = admin.get(f"/hosts/0/domains/{quote(name, safe='')}").text
    return re.search(r'id="dom-state" data-field="state">([^<]*)<', page).group(1)


@pytest.mark.parametrize("steps", [
    [("suspend", "Domain 'test' suspended", "paused"),
     ("resume", "Domain 'test' resumed", "running")],
    [("destroy", "Domain 'test' destroyed", "shut off"),
     ("start", "Domain 'test' started", "running")],
    [("shutdown", "Domain 'test' is being shut down", "shut off")],
    [("reboot", "Domain 'test' is being rebooted", "running")],
    [("save", "Domain 'test' saved", "shut off"),
     ("start", "Domain 'test' started", "running")],
])
def test_lifecycle_buttons(admin, steps):
    admin.get(DOM)
    for action, message, state in steps:
        response = admin.post(f"{DOM}/action/{action}")
        assert response.status_code == 200 and response.url.path == DOM
        assert flashes(response.text) == [message]
        assert state_of(admin) == state


def test_saved_domain_shows_its_saved_state(admin):
    admin.get(DOM)
    admin.post(f"{DOM}/action/save")
    assert "yes (start restores it)" in admin.get(DOM).text


def test_action_errors_render_libvirts_message(admin):
    admin.get(DOM)
    response = admin.post(f"{DOM}/action/start")
    assert flashes(response.text) == ["internal error: Domain 'test' is already running"]
    response = admin.post(f"{DOM}/action/resume")
    assert flashes(response.text) == ["internal error: domain 'test' not paused"]


def test_unknown_action_is_404(admin):
    admin.get(DOM)
    assert admin.post(f"{DOM}/action/explode").status_code == 404


def test_acting_on_a_domain_another_tab_deleted(admin):
    admin.get(DOM)
    admin.post(f"{DOM}/action/destroy")
    response = admin.post(f"{DOM}/action/undefine")
    assert flashes(response.text) == ["Domain 'test' undefined"]
    assert response.url.path == "/hosts/0/domains"
    response = admin.post(f"{DOM}/action/start")          # the stale tab
    assert "Domain not found" in flashes(response.text)[-1]


def test_bulk_start_and_stop(admin):
    admin.get("/hosts/0/domains")
    response = admin.post("/hosts/0/domains/bulk", {"action": "destroy", "names": ["test"]})
    assert flashes(response.text) == ["Domain 'test' destroyed"]
    response = admin.post("/hosts/0/domains/bulk",
                          {"action": "start", "names": ["test", "ghost"]})
    assert flashes(response.text) == ["Domain 'test' started", "ghost: Domain not found"]
    response = admin.post("/hosts/0/domains/bulk", {"action": "undefine", "names": ["test"]})
    assert flashes(response.text) == ["unknown bulk action 'undefine'"]


def test_snapshots_create_tree_revert_delete(admin):
    admin.get(DOM)
    assert flashes(admin.post(f"{DOM}/snapshots", {"snap_name": "base"}).text) == [
        "Domain snapshot base created"]
    admin.post(f"{DOM}/action/suspend")
    admin.post(f"{DOM}/snapshots", {"snap_name": "child", "description": "paused"})
    page = admin.get(DOM).text
    assert 'data-snapshot="base"' in page and 'data-snapshot="child"' in page
    assert "margin-left: 1.2em" in page                  # child indented under base
    assert re.search(r'child</span> <span class="tag">current', page)
    response = admin.post(f"{DOM}/snapshots/base/revert")
    assert flashes(response.text) == ["Domain 'test' reverted to snapshot base"]
    assert state_of(admin) == "running"
    response = admin.post(f"{DOM}/snapshots/child/delete")
    assert flashes(response.text) == ["Domain snapshot child deleted"]
    assert 'data-snapshot="child"' not in admin.get(DOM).text
    response = admin.post(f"{DOM}/snapshots/child/delete")
    assert flashes(response.text) == [
        "Domain snapshot not found: no domain snapshot with matching name 'child'"]


def _edited_xml(admin, old: str, new: str) -> str:
    page = admin.get(f"{DOM}/xml").text
    import html
    xml = html.unescape(re.search(r'<textarea[^>]*>(.*?)</textarea>', page, re.S).group(1))
    assert old in xml
    return xml.replace(old, new)


def test_xml_editor_shows_a_diff_then_saves(admin):
    edited = _edited_xml(admin, "<vcpu placement='static'>2</vcpu>",
                         "<vcpu placement='static'>3</vcpu>")
    preview = admin.post(f"{DOM}/xml/preview", {"xml": edited})
    assert preview.status_code == 200
    assert re.search(r'class="del">-\s*&lt;vcpu placement=&#39;static&#39;&gt;2', preview.text)
    assert re.search(r'class="add">\+\s*&lt;vcpu placement=&#39;static&#39;&gt;3', preview.text)
    assert 'id="xml-save"' in preview.text
    saved = admin.post(f"{DOM}/xml/save", {"xml": edited})
    assert flashes(saved.text) == ["Domain 'test' defined from the edited XML"]
    assert "&lt;vcpu placement=&#39;static&#39;&gt;3" in admin.get(f"{DOM}/xml").text


def test_xml_editor_refuses_invalid_xml_and_saves_nothing(admin):
    edited = _edited_xml(admin, "</domain>", "")
    preview = admin.post(f"{DOM}/xml/preview", {"xml": edited})
    assert preview.status_code == 400
    assert flashes(preview.text)[0].startswith("XML error: ")
    assert 'id="xml-save"' not in preview.text
    saved = admin.post(f"{DOM}/xml/save", {"xml": edited})
    assert saved.status_code == 400 and flashes(saved.text)[0].startswith("XML error: ")
    assert "&lt;/domain&gt;" in admin.get(f"{DOM}/xml").text


def test_xml_editor_reports_schema_errors_from_the_driver(admin):
    edited = _edited_xml(admin, "<devices>", "<bogus/><devices>")
    saved = admin.post(f"{DOM}/xml/save", {"xml": edited})
    assert saved.status_code == 400
    assert "bogus" in flashes(saved.text)[0]
    assert "bogus" not in admin.get(f"{DOM}/xml").text


def test_xml_editor_refuses_a_rename(admin):
    edited = _edited_xml(admin, "<name>test</name>", "<name>other</name>")
    saved = admin.post(f"{DOM}/xml/save", {"xml": edited})
    assert flashes(saved.text) == ["the edited XML must keep the name 'test' (found 'other')"]


def test_wizard_creates_a_vm_with_a_new_disk_and_starts_it(admin):
    admin.get("/hosts/0/domains/new")
    response = admin.post("/hosts/0/domains/new", {
        "name": "web-1", "memory": "256", "vcpus": "2", "domain_type": "test", "arch": "i686",
        "boot": "volume", "disk": "new", "pool": "default-pool", "disk_gib": "2",
        "network": "default", "start": "1"})
    assert flashes(response.text) == ["Domain 'web-1' defined and started"]
    assert response.url.path == "/hosts/0/domains/web-1"
    assert state_of(admin, "web-1") == "running"
    page = admin.get("/hosts/0/domains/web-1").text
    assert "/default-pool/web-1.qcow2" in page and "256 MiB" in page
    assert 'data-volume="web-1.qcow2"' in admin.get("/hosts/0/storage/default-pool").text


def test_wizard_iso_boot_offers_pool_isos(admin):
    url = "/hosts/0/storage/default-pool"
    admin.get(url)
    admin.post(f"{url}/volumes", {"name": "debian.iso", "size_mib": "4", "format": "raw"})
    wizard = admin.get("/hosts/0/domains/new").text
    assert '<option value="/default-pool/debian.iso">' in wizard
    response = admin.post("/hosts/0/domains/new", {
        "name": "installer", "memory": "128", "vcpus": "1", "domain_type": "test",
        "arch": "i686", "boot": "iso", "iso": "/default-pool/debian.iso", "disk": "none"})
    assert flashes(response.text) == ["Domain 'installer' defined"]
    xml = admin.get("/hosts/0/domains/installer/xml").text
    assert "&lt;boot dev=&#39;cdrom&#39;/&gt;" in xml
    assert "/default-pool/debian.iso" in xml


def test_wizard_kernel_boot_and_odd_name(admin):
    admin.get("/hosts/0/domains/new")
    name = "odd name #1 ü"
    response = admin.post("/hosts/0/domains/new", {
        "name": name, "memory": "128", "vcpus": "1", "domain_type": "test", "arch": "i686",
        "boot": "kernel", "kernel": "/boot/vmlinuz", "cmdline": "console=ttyS0",
        "disk": "none"})
    assert flashes(response.text) == [f"Domain '{name}' defined"]
    assert response.url.path == f"/hosts/0/domains/{name}"
    assert state_of(admin, name) == "shut off"
    assert "/hosts/0/domains/odd%20name%20%231%20%C3%BC" in admin.get("/hosts/0/domains").text


@pytest.mark.parametrize("form, message", [
    ({"name": "", "memory": "1", "vcpus": "1"}, "the new VM needs a name"),
    ({"name": "a", "memory": "lots", "vcpus": "1"}, "Memory (MiB) must be a whole number"),
    ({"name": "a", "memory": "64", "vcpus": "0"}, "vCPUs must be greater than zero"),
    ({"name": "a", "memory": "64", "vcpus": "1", "boot": "kernel"},
     "booting from a kernel needs the kernel's path"),
    ({"name": "a", "memory": "64", "vcpus": "1", "boot": "iso"},
     "booting from an ISO image needs the image's path"),
    ({"name": "a", "memory": "64", "vcpus": "1", "boot": "floppy"},
     "unknown boot choice 'floppy'"),
    ({"name": "a", "memory": "64", "vcpus": "1", "disk": "new", "pool": "nosuch",
      "disk_gib": "1"},
     "Storage pool not found: no storage pool with matching name 'nosuch'"),
    ({"name": "test", "memory": "64", "vcpus": "1", "domain_type": "test", "arch": "i686"},
     None),
])
def test_wizard_errors_are_readable(admin, form, message):
    admin.get("/hosts/0/domains/new")
    response = admin.post("/hosts/0/domains/new", form)
    shown = flashes(response.text)
    assert len(shown) == 1
    if message is None:            # a name that exists: the driver's own message
        assert "test" in shown[0] and "already exists" in shown[0]
    else:
        assert shown == [message]


def test_wizard_cleans_up_its_volume_when_the_define_fails(admin):
    admin.get("/hosts/0/domains/new")
    response = admin.post("/hosts/0/domains/new", {
        "name": "test", "memory": "64", "vcpus": "1", "domain_type": "test", "arch": "i686",
        "disk": "new", "pool": "default-pool", "disk_gib": "1"})
    assert "already exists" in flashes(response.text)[0]
    assert 'data-volume="test.qcow2"' not in admin.get("/hosts/0/storage/default-pool").text


def test_networks_create_stop_start_delete(admin):
    admin.get("/hosts/0/networks")
    response = admin.post("/hosts/0/networks", {"name": "lab", "mode": "isolated",
                                                "cidr": "10.20.0.0/24", "dhcp": "1",
                                                "start": "1"})
    assert flashes(response.text) == ["Network lab defined and started"]
    row = response.text.split('data-network="lab"')[1].split("</tr>")[0]
    assert "isolated" in row and "10.20.0.1/24" in row and ">active<" in row
    assert flashes(admin.post("/hosts/0/networks/lab/action/stop").text) == [
        "Network lab destroyed"]
    assert flashes(admin.post("/hosts/0/networks/lab/action/start").text) == [
        "Network lab started"]
    admin.post("/hosts/0/networks/lab/action/stop")
    response = admin.post("/hosts/0/networks/lab/action/undefine")
    assert flashes(response.text) == ["Network lab undefined"]
    assert 'data-network="lab"' not in response.text


def test_network_errors_are_readable(admin):
    admin.get("/hosts/0/networks")
    response = admin.post("/hosts/0/networks", {"name": "bad", "mode": "nat", "cidr": "1.2.3"})
    assert flashes(response.text)[0].startswith("invalid IPv4 network '1.2.3'")
    response = admin.post("/hosts/0/networks/default/action/start")
    assert flashes(response.text) == [
        "Requested operation is not valid: Network 'default' is already running"]
    response = admin.post("/hosts/0/networks/default/action/fly")
    assert response.status_code == 404


def test_network_page_reports_missing_lease_support(admin):
    page = admin.get("/hosts/0/networks/default").text
    assert "this function is not supported by the connection driver: " \
           "virNetworkGetDHCPLeases" in page


def test_volumes_create_and_delete(admin):
    url = "/hosts/0/storage/default-pool"
    admin.get(url)
    response = admin.post(f"{url}/volumes", {"name": "data.img", "size_mib": "64",
                                             "format": "raw"})
    assert flashes(response.text) == ["Vol data.img created"]
    assert "64.00 MiB" in response.text.split('data-volume="data.img"')[1].split("</tr>")[0]
    response = admin.post(f"{url}/volumes", {"name": "data.img", "size_mib": "64"})
    assert "already exists" in flashes(response.text)[0]
    response = admin.post(f"{url}/volumes/data.img/delete")
    assert flashes(response.text) == ["Vol data.img deleted"]
    response = admin.post(f"{url}/volumes", {"name": "x", "size_mib": "-1"})
    assert flashes(response.text) == ["Size (MiB) must be greater than zero"]


def test_pool_stop_and_start(admin):
    url = "/hosts/0/storage/default-pool"
    admin.get(url)
    assert flashes(admin.post(f"{url}/action/stop").text) == ["Pool default-pool destroyed"]
    assert "inactive" in admin.get("/hosts/0/storage").text
    assert flashes(admin.post(f"{url}/action/start").text) == ["Pool default-pool started"]
    assert flashes(admin.post(f"{url}/action/refresh").text) == ["Pool default-pool refreshed"]


def test_markup_in_a_vm_name_is_shown_not_run(admin):
    admin.get("/hosts/0/domains/new")
    name = "<img src=x onerror=alert(1)>"
    response = admin.post("/hosts/0/domains/new", {
        "name": name, "memory": "64", "vcpus": "1", "domain_type": "test", "arch": "i686",
        "disk": "none"})
    assert flashes(response.text) == [f"Domain '{name}' defined"]
    listing = admin.get("/hosts/0/domains").text
    assert "<img src=x" not in listing
    assert "&lt;img src=x onerror=alert(1)&gt;" in listing
    assert "/hosts/0/domains/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E" in listing


def test_xml_editor_names_the_place_of_a_syntax_error(admin):
    admin.get(f"{DOM}/xml")
    preview = admin.post(f"{DOM}/xml/preview", {"xml": "<domain>\n  <name>test</name><memory>"})
    assert flashes(preview.text)[0] == (
        "XML error: line 2, column 28: Premature end of data in tag memory line 2")
