"""What ``test:///default`` holds when it is opened: libvirt's fixed objects."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DOMAIN_XML = """\
<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
"""

DEFAULT_NETWORK_XML = """\
<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
"""

DEFAULT_POOL_XML = """\
<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <source>
  </source>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
"""

#: Size the test driver gives every pool (100 GiB), as libvirt does.
DEFAULT_POOL_CAPACITY = 100 * 1024 ** 3

SECURITY_MODEL = "testSecurity"
SECURITY_DOI = ""
SECURITY_LABEL = "libvirt-test"

SYSINFO_XML = """\
<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
"""

HYPERVISOR_TYPE = "TEST"
HYPERVISOR_VERSION = 2          # "TEST 0.0.2"
MAX_VCPUS = 32


@dataclass(frozen=True)
class NodeSpec:
    """virNodeInfo fields and NUMA memory of the simulated host."""

    model: str = "i686"
    memory_kib: int = 3 * 1024 * 1024
    cpus: int = 16
    mhz: int = 1400
    nodes: int = 2
    sockets: int = 2
    cores: int = 2
    threads: int = 2
    #: Memory per NUMA cell in KiB (virNodeGetCellsFreeMemory).
    cells_kib: tuple[int, ...] = (2097152, 4194304)

    def info(self) -> list:
        """remote_node_get_info_ret: model, memory (KiB), cpus, mhz, nodes, sockets,
        cores, threads (libvirt-python shows memory in MiB; the API layer divides)."""
        return [self.model, self.memory_kib, self.cpus, self.mhz, self.nodes,
                self.sockets, self.cores, self.threads]


DEFAULT_NODE = NodeSpec()

# --- stats the test driver makes up (libvirt's formulas and constants) -----------
CPU_TOTAL = {"cpu_time": 48772617035, "user_time": 5540000000, "system_time": 6460000000}
CPU_PER_CPU_TIME = 24386308517
CPU_PER_VCPU_TIME = 23151740627
MEMORY_STATS_KIB = {
    "swap_in": 0, "swap_out": 0, "major_fault": 0, "minor_fault": 0,
    "unused": 1048576, "available": 2097152, "usable": 1048576,
    "last_update": 627319920, "disk_caches": 262144, "hugetlb_pgalloc": 0,
    "hugetlb_pgfail": 0, "rss": 1048576,
}
