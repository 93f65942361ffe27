#!/usr/bin/env bash
# The main job: pyvirt through pyvirsh, as one would use virsh.
#  1. a short tour of test:///default (in-memory; one pyvirsh run, commands separated by ';')
#  2. a real tiny VM on qemu:///embed?root=$PWD/var/embed (no daemon): a qcow2 thin-clone
#     volume in a dir pool as its disk, define, start, wait for its console marker,
#     dominfo, domstats, graceful shutdown → "shut off (shutdown)", undefine, clean up. Needs var/guest (scripts/build-test-guest.sh; setup.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
pyvirsh=.venv/bin/pyvirsh
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

# --- 1. the in-memory test driver --------------------------------------------------------
cat > "$workdir/demo.xml" <<'XML'
<domain type='test'>
  <name>demo</name>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/demo.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
XML
echo "=== test:///default"
( set -x; $pyvirsh -c test:///default "
  version; list --all;
  define $workdir/demo.xml; start demo; dominfo demo;
  suspend demo; domstate demo --reason; resume demo;
  shutdown demo; domstate demo --reason; undefine demo" )

# --- 2. a real VM under QEMU, embedded -----------------------------------------------------
guest=$repo/var/guest
if [ ! -f "$guest/vmlinuz" ] || [ ! -f "$guest/initrd.gz" ]; then
  echo "no test guest in $guest: run scripts/build-test-guest.sh (scripts/setup.sh does)" >&2
  exit 1
fi
root=$repo/var/embed
# the KVM check boots this kernel under -accel kvm once (cached under $root/cache)
export PYVIRT_KVM_TEST_KERNEL=${PYVIRT_KVM_TEST_KERNEL:-$guest/vmlinuz}
uri="qemu:///embed?root=$root"
mkdir -p "$root/images"
console_log=$root/images/tiny.console
echo
echo "=== $uri"

# KVM or TCG: the driver's probe decides (a real boot check; capabilities list kvm only
# when it works)
if $pyvirsh -c "$uri" capabilities | grep -q "<domain type='kvm'"; then
  virt=kvm accel=KVM
else
  virt=qemu accel="TCG (KVM is missing or does not work on this host)"
fi
echo "accelerator: $accel"

# a leftover from an interrupted run goes first
$pyvirsh -c "$uri" "destroy tiny" >/dev/null 2>&1 || true
$pyvirsh -c "$uri" "undefine tiny" >/dev/null 2>&1 || true
$pyvirsh -c "$uri" "vol-delete tiny.qcow2 --pool images" >/dev/null 2>&1 || true
$pyvirsh -c "$uri" "pool-destroy images" >/dev/null 2>&1 || true
$pyvirsh -c "$uri" "pool-undefine images" >/dev/null 2>&1 || true
rm -f "$console_log"

# the guest's disk: a qcow2 thin clone of the guest image, a volume in a dir pool
( set -x; $pyvirsh -c "$uri" "
  pool-define-as images dir --target $root/images; pool-start images;
  vol-create-as images tiny.qcow2 64M --format qcow2
    --backing-vol $guest/disk.qcow2 --backing-vol-format qcow2;
  vol-list images --details" )

cat > "$workdir/tiny.xml" <<XML
<domain type='$virt'>
  <name>tiny</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <disk type='volume' device='disk'>
      <source pool='images' volume='tiny.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'>
      <log file='$console_log' append='off'/>
    </serial>
    <memballoon model='virtio'/>
  </devices>
</domain>
XML

started=$(date +%s%N)
( set -x; $pyvirsh -c "$uri" "define $workdir/tiny.xml; start tiny; list --all" )

# the guest prints PYVIRT-GUEST-READY on its serial console once booted (the console's
# log file; `pyvirsh console tiny` shows the same console interactively, ^] leaves)
for _ in $(seq 1 300); do
  grep -q PYVIRT-GUEST-READY "$console_log" 2>/dev/null && break
  sleep 0.1
done
if ! grep -q PYVIRT-GUEST-READY "$console_log" 2>/dev/null; then
  echo "the guest did not boot; its console said:" >&2
  cat "$console_log" >&2 || true
  $pyvirsh -c "$uri" "destroy tiny; undefine tiny" >&2 || true
  exit 1
fi
took_ms=$(( ($(date +%s%N) - started) / 1000000 ))
printf 'guest console: PYVIRT-GUEST-READY %d.%01d s after start\n' \
  $((took_ms / 1000)) $((took_ms % 1000 / 100))
grep -m3 'PYVIRT-BLOCK ' "$console_log" | tr -d '\r' || true

# graceful shutdown: ACPI power button; the guest powers off and the driver sees QEMU's
# SHUTDOWN event, then the process exit (the events print as they arrive)
( set -x; $pyvirsh -c "$uri" "
  dominfo tiny; domstats tiny --state --cpu-total --balloon --block;
  shutdown tiny; event tiny --event lifecycle --loop --timeout 6;
  domstate tiny --reason; undefine tiny; list --all;
  vol-delete tiny.qcow2 --pool images; pool-destroy images; pool-undefine images" )
