#!/usr/bin/env python3
"""Write the sample files of mview's demo (examples/demo.sh).

    scripts/make_samples.py [DIR]      (default: examples/ of this checkout)

image.pgm  binary PGM ("P5\\n64 48\\n255\\n", 13 bytes) + 64x48 8-bit pixels:
           a diagonal gradient 2*x + 2*y with a white frame and a white
           diagonal line x == y + 8.
tone.wav   RIFF/WAVE PCM, 16-bit little-endian stereo, 8000 Hz, 400 frames
           after a standard 44-byte header: left a 440 Hz sine of amplitude
           12000, right a 1000 Hz sine of amplitude 6000, each sample
           round()ed to an integer.

Standard library only; the output is the same on every run.
"""
import math
import os
import struct
import sys

WIDTH, HEIGHT = 64, 48
RATE, FRAMES = 8000, 400


def pixel(x, y):
    if x in (0, WIDTH - 1) or y in (0, HEIGHT - 1) or x == y + 8:
        return 255
    return 2 * x + 2 * y


def pgm():
    header = b"P5\n%d %d\n255\n" % (WIDTH, HEIGHT)
    pixels = bytes(pixel(x, y) for y in range(HEIGHT) for x in range(WIDTH))
    return header + pixels


def wav():
    frames = bytearray()
    for n in range(FRAMES):
        left = round(12000 * math.sin(2 * math.pi * 440 * n / RATE))
        right = round(6000 * math.sin(2 * math.pi * 1000 * n / RATE))
        frames += struct.pack("<hh", left, right)
    channels, bits = 2, 16
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, RATE, RATE * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(frames)) + bytes(frames)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    out = argv[1] if len(argv) > 1 else os.path.join(here, os.pardir, "examples")
    os.makedirs(out, exist_ok=True)
    for name, data in (("image.pgm", pgm()), ("tone.wav", wav())):
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(data)
        print("wrote %s (%d bytes)" % (os.path.normpath(path), len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
