#!/bin/sh
# Usage: deps.sh PACKAGE...  Install the Debian packages that are missing
# (as root), or print the apt-get line that would and fail.
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # A multiarch package (libcmocka-dev:s390x) needs its architecture added.
    for p in $missing; do
        case $p in
        *:*) a=${p#*:}
            dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a" ;;
        esac
    done
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null || exit 1
else
    echo "missing Debian packages; run:"
    for p in $missing; do
        case $p in
        *:*) echo "  sudo dpkg --add-architecture ${p#*:} && sudo apt-get update" ;;
        esac
    done
    echo "  sudo apt-get install -y$missing"
    exit 1
fi
