"""NodeInfo: getInfo() shape, the test driver's <node> file rules and errors."""

from __future__ import annotations

import pytest

from pyvirt.conf.nodeinfo import TEST_DRIVER_NODE, NodeInfo
from pyvirt.errors import libvirtError


def test_test_driver_host_matches_libvirt() -> None:
    # /usr/bin/python3 -c "import libvirt; print(libvirt.open('test:///default').getInfo())"
    assert TEST_DRIVER_NODE.as_list() == ['i686', 3072, 16, 1400, 2, 2, 2, 2]
    # virsh -c test:///default nodeinfo prints the struct's KiB
    assert TEST_DRIVER_NODE.as_struct() == ('i686', 3145728, 16, 1400, 2, 2, 2, 2)
    assert TEST_DRIVER_NODE.max_cpus == 16


def test_memory_mib_rounds_down() -> None:
    assert NodeInfo(memory=1535).memory_mib == 1
    assert NodeInfo(memory=1535).as_list()[1] == 1


def test_node_file_full() -> None:
    info = NodeInfo.from_node_xml(
        "<node><cpu><mhz>6000</mhz><model>i986</model><active>50</active><nodes>4</nodes>"
        "<sockets>4</sockets><cores>4</cores><threads>2</threads></cpu>"
        "<memory>8192000</memory></node>")
    assert info.as_struct() == ("i986", 8192000, 50, 6000, 4, 4, 4, 2)


@pytest.mark.parametrize(("cpu", "want_cpus", "want_topology"), [
    ("<sockets>1</sockets><cores>3</cores>", 12, (2, 1, 3, 2)),
    ("<nodes>0</nodes>", 0, (0, 2, 2, 2)),
    ("<active>500</active>", 16, (2, 2, 2, 2)),
    ("<active>5</active>", 5, (2, 2, 2, 2)),
    ("", 16, (2, 2, 2, 2)),
])
def test_node_file_cpu_rules(cpu: str, want_cpus: int,
                             want_topology: tuple[int, int, int, int]) -> None:
    info = NodeInfo.from_node_xml(f"<node><cpu>{cpu}</cpu></node>")
    assert info.cpus == want_cpus
    assert (info.nodes, info.sockets, info.cores, info.threads) == want_topology


def test_node_file_round_trip() -> None:
    info = NodeInfo(model="i986", memory=8192000, cpus=50, mhz=6000, nodes=4, sockets=4,
                    cores=4, threads=2)
    assert NodeInfo.from_node_xml(info.to_node_xml()) == info
    assert info.to_node_xml().startswith("<node>\n  <cpu>\n    <mhz>6000</mhz>\n")


def test_model_of_31_characters_fits() -> None:
    model = "abcdefghijklmnopqrstuvwxyz01234"
    assert NodeInfo.from_node_xml(f"<node><cpu><model>{model}</model></cpu></node>").model \
        == model


@pytest.mark.parametrize(("xml", "code", "message"), [
    ("<cpu><mhz>abc</mhz></cpu>", 27, "XML error: invalid node cpu mhz value"),
    ("<cpu><mhz>-5</mhz></cpu>", 27, "XML error: invalid node cpu mhz value"),
    ("<memory>abc</memory>", 27, "XML error: invalid node memory value"),
    ("<cpu><nodes>x</nodes></cpu>", 27, "XML error: invalid node cpu nodes value"),
    ("<cpu><sockets>x</sockets></cpu>", 27, "XML error: invalid node cpu sockets value"),
    ("<cpu><cores>x</cores></cpu>", 27, "XML error: invalid node cpu cores value"),
    ("<cpu><threads>x</threads></cpu>", 27, "XML error: invalid node cpu threads value"),
    ("<cpu><active>x</active></cpu>", 27, "XML error: invalid node cpu active value"),
    ("<cpu><model>abcdefghijklmnopqrstuvwxyz012345</model></cpu>", 1,
     "internal error: Model abcdefghijklmnopqrstuvwxyz012345 too big for destination"),
])
def test_node_file_errors_match_libvirt(xml: str, code: int, message: str) -> None:
    with pytest.raises(libvirtError) as info:
        NodeInfo.from_node_xml(f"<node>{xml}</node>")
    assert (info.value.get_error_code(), info.value.get_error_domain()) == (code, 12)
    assert info.value.get_error_message() == message


# --- checked against the real test driver when libvirt's binding is installed ---------------------
NODE_FILES = [
    "<node/>",
    "<node><cpu><mhz>6000</mhz><model>i986</model><active>50</active><nodes>4</nodes>"
    "<sockets>4</sockets><cores>4</cores><threads>2</threads></cpu><memory>8192000</memory>"
    "</node>",
    "<node><cpu><sockets>1</sockets><cores>3</cores></cpu><memory>1535</memory></node>",
    "<node><cpu><nodes>0</nodes><active>500</active></cpu></node>",
]

_REAL_INFO = """
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
print(json.dumps([libvirt.open('test://' + path).getInfo() for path in json.load(sys.stdin)]))
"""


@pytest.mark.realvirsh
def test_node_files_read_as_the_real_test_driver_reads_them(tmp_path) -> None:  # noqa: ANN001
    import json
    import subprocess
    paths = []
    for index, text in enumerate(NODE_FILES):
        path = tmp_path / f"node{index}.xml"
        path.write_text(text)
        paths.append(str(path))
    try:
        done = subprocess.run(["/usr/bin/python3", "-c", _REAL_INFO], input=json.dumps(paths),
                              text=True, capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"real libvirt binding not usable: {err}")
    assert [NodeInfo.from_node_xml(t).as_list() for t in NODE_FILES] == json.loads(done.stdout)
