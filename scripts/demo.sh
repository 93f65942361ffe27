#!/usr/bin/env bash
# The main job: a scripted tour of pyvirt through pyvirsh on test:///default.
# (test:///default lives inside one process, so the tour is one pyvirsh run with
# commands separated by ';', exactly as with the real virsh.)
set -euo pipefail
cd "$(dirname "$0")/.."
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
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
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>
XML
set -x
.venv/bin/pyvirsh -c test:///default "
  version; nodeinfo; list --all;
  define $workdir/demo.xml; start demo; list --all; dominfo demo;
  suspend demo; domstate demo --reason; resume demo;
  snapshot-create-as demo first; snapshot-list demo;
  setmem demo 131072 --live; domstats demo --state --balloon;
  shutdown demo; domstate demo --reason; undefine demo --snapshots-metadata;
  net-list --all; pool-list --all --details;
  vol-create-as default-pool demo.img 10M; vol-list default-pool --details; vol-delete demo.img --pool default-pool"
