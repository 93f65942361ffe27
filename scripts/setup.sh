#!/usr/bin/env bash
# Set up pyvirt on a fresh Debian 12 machine (run as root), then run the main job.
#   scripts/setup.sh            install everything, then the demo (scripts/demo.sh)
#   scripts/setup.sh --no-demo  install only (what .ci/run uses before the tests)
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages, and why each is here:
#   python3-venv python3-dev gcc pkg-config   the virtualenv and compiled wheels
#   libvirt-clients python3-libvirt libvirt-dev   the REAL virsh / libvirt-python: test peers and
#                                              benchmark baselines (libvirt-dev builds the venv binding)
#   libvirt-daemon libvirt-daemon-driver-qemu  the REAL libvirtd / qemu driver: wire-parity test peer and
#   iptables                                   benchmark baseline (iptables: its networks' firewall)
#   qemu-system-x86 qemu-utils                 the hypervisor and qemu-img
#   busybox-static cpio                        the tiny test guest's initramfs
#   xz-utils                                   unpacking the guest kernel's compressed modules
#   dnsmasq iproute2 nftables                  virtual networks (DHCP/DNS, bridges, NAT)
#   lvm2 e2fsprogs util-linux                  logical and fs storage pools (LVM, mkfs, loop mounts)
#   chromium chromium-driver                   the web manager's end-to-end browser tests
#   openssh-server openssh-client              qemu+ssh:// transport tests (sshd in a test namespace)
#   libsasl2-modules sasl2-bin                 SCRAM logins: the plugin real virsh uses against pyvirtd,
#                                              saslpasswd2 for the SASL comparison with real libvirtd
APT_PACKAGES=(python3-venv python3-dev gcc pkg-config libvirt-clients python3-libvirt libvirt-dev
              libvirt-daemon libvirt-daemon-driver-qemu iptables
              qemu-system-x86 qemu-utils busybox-static cpio xz-utils dnsmasq iproute2 nftables
              lvm2 e2fsprogs util-linux chromium chromium-driver openssh-server openssh-client
              libsasl2-modules sasl2-bin)
# npm fetches xterm.js and noVNC for the web manager; install Debian's only where none is on PATH.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo ">> apt-get install ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# The unprivileged identity every QEMU runs as (qemu.conf's default user/group); in the kvm
# group where the host has one, so KVM works for it.
getent group pyvirt-qemu >/dev/null || groupadd --system pyvirt-qemu
id pyvirt-qemu >/dev/null 2>&1 || useradd --system --gid pyvirt-qemu --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin --comment "pyvirt QEMU guests" pyvirt-qemu
if getent group kvm >/dev/null; then usermod -a -G kvm pyvirt-qemu; fi

# The virtualenv: pyvirt itself (editable) with its test tools, and the real libvirt-python
# binding at Debian's libvirt version, used only as a conformance peer by the tests.
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[web,test]'
# Byte-compile once: an environment with PYTHONDONTWRITEBYTECODE set still reads the cache,
# so pyvirsh starts without compiling its sources every time.
.venv/bin/python -m compileall -q src >/dev/null
.venv/bin/python -c 'import libvirt' 2>/dev/null ||
  .venv/bin/python -m pip install -q --disable-pip-version-check 'libvirt-python==9.0.0'

# The tiny test guest (a Debian cloud kernel + busybox initramfs) into var/guest, the test
# container's busybox root into var/rootfs, and the web manager's front-end libraries.
# Each script skips work already done.
scripts/build-test-guest.sh var/guest
scripts/build-test-rootfs.sh var/rootfs
[ -f src/pyvirt/web/static/vendor/VERSIONS ] || scripts/build-web-assets.sh

if [ "${1:-}" != "--no-demo" ]; then
  scripts/demo.sh
fi
