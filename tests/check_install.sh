#!/bin/sh
# Usage: check_install.sh BUILD_DIR SOURCE_ROOT
# Install into a scratch prefix, then build the quickstart as a C user
# would (pkg-config, shared and static) and check that it runs.
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp" --quiet >/dev/null
pc=$(find "$tmp" -name memview.pc | head -n 1)
[ -n "$pc" ] || { echo "memview.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR=$tmp
cc=${CC:-cc}
libdir=$(pkg-config --variable=libdir memview)
case $libdir in "$tmp"*) ;; *) libdir=$tmp$libdir ;; esac
$cc -std=c11 $(pkg-config --cflags memview) "$src/examples/quickstart.c" \
    $(pkg-config --libs memview) -Wl,-rpath,"$libdir" -o "$tmp/shared"
$cc -std=c11 $(pkg-config --cflags memview) "$src/examples/quickstart.c" \
    "$libdir/libmemview.a" -lm -o "$tmp/static"
"$tmp/shared" | grep -q "XYJ"
"$tmp/static" | grep -q "XYJ"
ldd "$tmp/shared" | grep -q libmemview.so
echo "install: header, pkg-config file, shared and static libraries usable"
