"""A Python "camera": publishes 1.2 MB frames into a machine-scope keel SharedObject.

Run by examples/python-camera.mjs (or on its own, with keel's python/ folder on PYTHONPATH):
    PYTHONPATH=python python3 examples/python-camera.py demo-camera
It creates the slot `argv[1]` (480x848x3 uint8), prints "ready", waits for a line on stdin
(the consumer attached), then assigns 60 frames at 30 frames per second, frame i filled with
the byte i, and removes its handle. A Node program opens the slot by name; the slot stays
until someone unlinks it (here, the Node side once it has read the last frame).
"""

import sys
import time

import numpy as np

from keel_shared_object import SharedObject

FRAMES = 60
FPS = 30


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "demo-camera"
    frame = np.zeros((480, 848, 3), np.uint8)
    with SharedObject.create(name, frame) as camera:
        print('"ready"', flush=True)
        sys.stdin.readline()
        start = time.monotonic()
        for index in range(1, FRAMES + 1):
            # A real driver would copy the sensor's buffer here.
            frame.fill(index)
            camera.assign(frame)
            time.sleep(max(0.0, start + index / FPS - time.monotonic()))


main()
