#!/bin/sh
# mview's demo on the sample files in examples/ (`make run`):
#   examples/demo.sh MVIEW_BINARY
# Each command is echoed as "$ mview ..." before its output.  The samples
# are written by scripts/make_samples.py when they are missing.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 MVIEW_BINARY" >&2
    exit 1
fi
case $1 in
/*) mview=$1 ;;
*) mview=$(pwd)/$1 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -f examples/image.pgm ] || [ ! -f examples/tone.wav ]; then
    python3 scripts/make_samples.py examples >/dev/null
fi

# Echo the command (arguments with shell metacharacters in single quotes),
# run it, then a blank line.
show() {
    line='$ mview'
    for arg in "$@"; do
        case $arg in
        *[!A-Za-z0-9_./=:,-]*) arg="'$arg'" ;;
        esac
        line="$line $arg"
    done
    printf '%s\n' "$line"
    "$mview" "$@"
    echo
}

echo "# The PGM header and the first pixels, as xxd shows them:"
show examples/image.pgm '[:32]'
echo "# The 64x48 pixels after the 13-byte header, as a 2-D view of bytes:"
show -o 13 -s 48,64 examples/image.pgm --info
echo "# Every third row from 10, every eighth column from 8 (a strided view):"
show -o 13 -s 48,64 examples/image.pgm '[10:20:3, 8:40:8]'
echo "# Where the WAV data chunk starts, and the first 16 samples of its right channel:"
show examples/tone.wav --find '"data"'
show -o 44 -f '<h' -s -1,2 examples/tone.wav '[:16, 1]'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp examples/image.pgm "$tmp/copy.pgm"
cd "$tmp"
echo "# In place, on a copy: a 3x6 rectangle set to 255, then the rows around it"
echo "# (16 pixels a row; a strided view's dump counts bytes of the view):"
show -o 13 -s 48,64 copy.pgm '[30:33, 4:10]' --set 255
show -o 13 -s 48,64 copy.pgm '[29:34, :16]' --dump
