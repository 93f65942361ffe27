#!/bin/sh
# Build pyvirt's tiny test guest: a Debian cloud kernel + a busybox initramfs + a qcow2 disk.
#
#   scripts/build-test-guest.sh [OUTDIR]        (default: var/guest, git-ignored)
#
# Needs: apt-get (only to download the kernel package), dpkg, busybox-static, cpio,
# gzip, qemu-utils. Idempotent: when the outputs are newer than this script and
# scripts/guest/*, nothing is rebuilt. Prints the paths it produced.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-$root/var/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
kernel=$out/vmlinuz
initrd=$out/initrd.gz
disk=$out/disk.qcow2

# Modules the guest loads (dependencies are added and ordered automatically).
wanted="virtio_pci virtio_net virtio_blk virtio_balloon virtio_console virtio-rng
virtio_scsi sd_mod sr_mod ata_piix button evdev pvpanic-mmio"

newer_than_sources() {
    [ -e "$1" ] || return 1
    [ -z "$(find "$here/build-test-guest.sh" "$here/guest" -newer "$1" 2>/dev/null)" ]
}

report() {
    echo "kernel=$kernel"
    echo "initrd=$initrd"
    echo "disk=$disk"
}

up_to_date() {
    newer_than_sources "$kernel" && newer_than_sources "$initrd" && [ -e "$disk" ]
}
if up_to_date; then
    report
    exit 0
fi

# One build at a time per OUTDIR (test runs may race); the loser reuses the result.
exec 9> "$out/.lock"
flock 9
if up_to_date; then
    report
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pyvirt-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- the kernel: Debian 12's cloud kernel (what linux-image-cloud-amd64 points at) ---
# PYVIRT_GUEST_KERNEL_PKG=linux-image-6.12.…-cloud-amd64 picks another (modules .ko.xz are fine).
pkg=${PYVIRT_GUEST_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
          | sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n1)
fi
if [ -z "$pkg" ]; then
    pkg=$(apt-cache pkgnames linux-image- | grep -E '^linux-image-[0-9].*-cloud-amd64$' \
          | sort -V | tail -n1)
fi
[ -n "$pkg" ] || { echo "build-test-guest: no linux-image-*-cloud-amd64 package found" >&2; exit 1; }
(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) \
    || { echo "build-test-guest: apt-get download $pkg failed" >&2; exit 1; }
dpkg -x "$work"/"$pkg"_*.deb "$work/pkg"
kver=${pkg#linux-image-}
moddir=$work/pkg/lib/modules/$kver/kernel

# --- modules in dependency order, read from each module's depends= ----------
tree=$work/root
mkdir -p "$tree/bin" "$tree/sbin" "$tree/etc/acpi" "$tree/lib/modules" "$tree/dev"
: > "$tree/lib/modules/load-order"
module_path() { find "$moddir" -name "$1.ko" -o -name "$1.ko.xz" | head -n1; }
add_module() {
    grep -qx "$1" "$tree/lib/modules/load-order" && return 0
    path=$(module_path "$1")
    if [ -z "$path" ]; then
        # built into this kernel: nothing to load
        grep -q "/$1\.ko\$" "$moddir/../modules.builtin" 2>/dev/null && return 0
        echo "build-test-guest: module $1 not in $pkg" >&2
        exit 1
    fi
    case "$path" in
        *.xz) xz -dc "$path" > "$tree/lib/modules/$1.ko" ;;
        *) cp "$path" "$tree/lib/modules/$1.ko" ;;
    esac
    deps=$(tr '\0' '\n' < "$tree/lib/modules/$1.ko" | sed -n 's/^depends=//p' | tr ',' ' ')
    for dep in $deps; do add_module "$dep"; done
    echo "$1" >> "$tree/lib/modules/load-order"
}
for mod in $wanted; do add_module "$mod"; done

# --- the initramfs -------------------------------------------------------------
cp /bin/busybox "$tree/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$tree/bin/$applet"
done
install -m 755 "$here/guest/init" "$tree/init"
for f in pyvirt-blk pyvirt-hotplug pyvirt-dhcp pyvirt-poweroff pyvirt-agent pyvirt-cpus; do
    install -m 755 "$here/guest/$f" "$tree/bin/$f"
done
# acpid runs an action relative to its config directory
ln -s /bin/pyvirt-poweroff "$tree/etc/acpi/power"
cp "$here/guest/acpid.conf" "$here/guest/mdev.conf" "$here/guest/profile" "$tree/etc/"
(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -9) > "$initrd.tmp"
cp "$work/pkg/boot/vmlinuz-$kver" "$kernel.tmp"
mv "$kernel.tmp" "$kernel"
mv "$initrd.tmp" "$initrd"
echo "$pkg" > "$out/kernel-package"

# --- a small disk --------------------------------------------------------------
[ -e "$disk" ] || qemu-img create -q -f qcow2 "$disk" 64M

report
