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
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null || exit 1
else
    echo "missing Debian packages; run:"
    echo "  sudo apt-get install -y$missing"
    exit 1
fi
