#!/bin/sh
# Usage: scripts/cross.sh ARCH BUILD_ROOT
#
# Cross-builds the library, the C suites, the quickstart and mview for ARCH
# (s390x: big-endian; aarch64) with Debian's cross gcc, and runs the C
# suites, the quickstart and the mview suite under qemu-user.  The meson
# cross file is written to BUILD_ROOT/ARCH.ini and the build goes to
# BUILD_ROOT/ARCH.
#
# Target programs are started through scripts/qemu-run (the cross file's
# exe_wrapper), not binfmt_misc, which a container may lack.  The target's
# shared libraries (cmocka) are Debian's multiarch packages, so qemu looks
# them up from / (-L /), loader and libc included: the cross toolchain's own
# /usr/ARCH-linux-gnu would pair the multiarch cmocka with a mismatched libc.
set -eu

arch=${1:?usage: scripts/cross.sh ARCH BUILD_ROOT}
root=${2:?usage: scripts/cross.sh ARCH BUILD_ROOT}
src=$(cd "$(dirname "$0")/.." && pwd)

case $arch in
    s390x) triplet=s390x-linux-gnu; family=s390x; endian=big ;;
    aarch64) triplet=aarch64-linux-gnu; family=aarch64; endian=little ;;
    *) echo "scripts/cross.sh: unknown architecture '$arch' (s390x or aarch64)" >&2; exit 2 ;;
esac

mkdir -p "$root"
root=$(cd "$root" && pwd)
ini="$root/$arch.ini"
build="$root/$arch"
# Meson 1.0 reads 'pkgconfig' (not 'pkg-config') in [binaries]; the target's
# .pc files are the multiarch ones.
cat >"$ini.tmp" <<INI
[binaries]
c = '$triplet-gcc'
ar = '$triplet-ar'
strip = '$triplet-strip'
pkgconfig = 'pkg-config'
exe_wrapper = ['$src/scripts/qemu-run', '$arch']

[properties]
pkg_config_libdir = ['/usr/lib/$triplet/pkgconfig', '/usr/share/pkgconfig']
# tests/meson.build runs mview through it for the host's Python (suite cli).
mview_wrapper = ['$src/scripts/qemu-run', '$arch']

[host_machine]
system = 'linux'
cpu_family = '$family'
cpu = '$family'
endian = '$endian'
INI
if ! cmp -s "$ini.tmp" "$ini"; then
    mv "$ini.tmp" "$ini"
    rm -rf "$build"
else
    rm -f "$ini.tmp"
fi

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --cross-file "$ini" --buildtype=debugoptimized \
        -Dpython_ext=disabled -Dpython=/usr/bin/python3 >"$root/$arch-setup.log" 2>&1 \
        || { cat "$root/$arch-setup.log"; exit 1; }
fi
ninja -C "$build"
# Suites c (every C suite), examples (the quickstart) and cli (mview, driven
# by the host's Python, its expected values built for the target's byte
# order); symbols and install inspect host-format files and stay native.
meson test -C "$build" --print-errorlogs --num-processes 2 --suite c --suite examples --suite cli
