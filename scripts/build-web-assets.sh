#!/bin/sh
# Vendor the web manager's front-end libraries from the npm registry into
# src/pyvirt/web/static/vendor/ (git-ignored: nothing third-party is committed).
#   xterm.js  (@xterm/xterm)  -> vendor/xterm/xterm.js, xterm.css, LICENSE
#   noVNC     (@novnc/novnc)  -> vendor/novnc/core, vendor/novnc/vendor (ES modules), LICENSE.txt
# Versions are pinned here; override with XTERM_VERSION / NOVNC_VERSION. noVNC stays
# at 1.4.x: later npm packages ship only CommonJS, which a browser cannot load
# without a bundler.
set -eu

XTERM_VERSION="${XTERM_VERSION:-5.5.0}"
NOVNC_VERSION="${NOVNC_VERSION:-1.4.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENDOR="$ROOT/src/pyvirt/web/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fetch() {   # fetch PACKAGE@VERSION -> unpacked into $WORK/<name>/package
    name="$1"
    (cd "$WORK" && npm pack --silent "$2" >"$name.tgz.name")
    mkdir -p "$WORK/$name"
    tar -xzf "$WORK/$(cat "$WORK/$name.tgz.name")" -C "$WORK/$name"
}

fetch xterm "@xterm/xterm@$XTERM_VERSION"
fetch novnc "@novnc/novnc@$NOVNC_VERSION"

rm -rf "$VENDOR"
mkdir -p "$VENDOR/xterm" "$VENDOR/novnc"
printf '*\n' >"$VENDOR/.gitignore"
cp "$WORK/xterm/package/lib/xterm.js" "$WORK/xterm/package/css/xterm.css" "$VENDOR/xterm/"
cp "$WORK/xterm/package/LICENSE" "$VENDOR/xterm/LICENSE"
cp -r "$WORK/novnc/package/core" "$WORK/novnc/package/vendor" "$VENDOR/novnc/"
cp "$WORK/novnc/package/LICENSE.txt" "$VENDOR/novnc/"
printf 'xterm %s\nnovnc %s\n' "$XTERM_VERSION" "$NOVNC_VERSION" >"$VENDOR/VERSIONS"
echo "vendored into $VENDOR:"
cat "$VENDOR/VERSIONS"
