#!/bin/sh
# Build pyvirt's test container root filesystem from busybox-static.
#
#   scripts/build-test-rootfs.sh [OUTDIR]        (default: var/rootfs, git-ignored)
#
# Needs: busybox-static (/bin/busybox). Idempotent: when OUTDIR/sbin/ct-init is
# newer than this script, nothing is rebuilt. Prints the path it produced.
#
# The container's init (/sbin/ct-init, given as <init> in the test XML) prints
# PYVIRT-CT-READY and its uid/gid on the console, starts an interactive shell on
# the console, and exits 0 on SIGTERM (so a graceful shutdown works).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-$root/var/rootfs}
busybox=${BUSYBOX:-/bin/busybox}

if [ -e "$out/sbin/ct-init" ] && [ -z "$(find "$here/build-test-rootfs.sh" -newer "$out/sbin/ct-init")" ]; then
    echo "rootfs=$out"
    exit 0
fi
if [ ! -x "$busybox" ]; then
    echo "build-test-rootfs.sh: $busybox not found (apt-get install busybox-static)" >&2
    exit 1
fi
if ! "$busybox" --list >/dev/null 2>&1; then
    echo "build-test-rootfs.sh: $busybox is not a busybox binary" >&2
    exit 1
fi

tmp=$out.tmp.$$
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
for dir in bin sbin etc proc sys dev tmp run root mnt var/tmp usr/bin usr/sbin; do
    mkdir -p "$tmp/$dir"
done
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
cp "$busybox" "$tmp/bin/busybox"
chmod 0755 "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
    case $applet in busybox) continue ;; esac
    [ -e "$tmp/bin/$applet" ] || ln -s busybox "$tmp/bin/$applet"
done

cat > "$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/false
PASSWD
cat > "$tmp/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
nogroup:x:65534:
GROUP

cat > "$tmp/sbin/ct-init" <<'INIT'
#!/bin/sh
# pyvirt test container init: a marker, then wait for SIGTERM.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
stop() {
    echo "PYVIRT-CT-STOPPING"
    [ -n "${shell_pid:-}" ] && kill "$shell_pid" 2>/dev/null
    exit 0
}
trap stop TERM INT
echo "PYVIRT-CT-READY uid=$(id -u) gid=$(id -g) host=$(hostname)"
if [ -n "${1:-}" ]; then
    echo "PYVIRT-CT-ARGS $*"
fi
sh -i </dev/console >/dev/console 2>&1 &
shell_pid=$!
while :; do
    sleep 1 &
    wait $!
done
INIT
chmod 0755 "$tmp/sbin/ct-init"

mkdir -p "$tmp/etc/udhcpc"
cat > "$tmp/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
# busybox udhcpc hook: configure the lease on the interface.
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$router" ]; then ip route replace default via "$router" dev "$interface"; fi
    echo "PYVIRT-CT-LEASE $ip"
    ;;
esac
exit 0
DHCP
chmod 0755 "$tmp/etc/udhcpc/default.script"

cat > "$tmp/sbin/ct-exit" <<'EXIT'
#!/bin/sh
# An init that exits at once (for "init that exits at once" tests).
echo "PYVIRT-CT-EXITING"
exit 3
EXIT
chmod 0755 "$tmp/sbin/ct-exit"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "rootfs=$out"
