"""Unit tests of keel_shared_object, Python alone: ``python3 -m unittest`` from python/.

Real segments in /dev/shm, real threads and real child processes (one writing frames at full
speed, one SIGKILLed inside assign). The tests against Node are test/python-*.test.ts.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import faulthandler
import threading
import time
import unittest

import numpy as np

from keel_shared_object import SharedObject

HERE = os.path.dirname(os.path.abspath(__file__))
FRAME_BYTES = 1_200_000

# A child writing frames at full speed, each filled with one byte value; argv: name seconds.
# Prints "started" after its first assign; with seconds 0 it runs until it is killed.
WRITER = """
import sys, time
import numpy as np
from keel_shared_object import SharedObject
slot = SharedObject.open(sys.argv[1])
seconds = float(sys.argv[2])
frame = np.empty(slot.shape, np.uint8)
deadline = time.monotonic() + seconds
value = frames = 0
while True:
    value = value % 255 + 1
    frame.fill(value)
    slot.assign(frame)
    frames += 1
    if frames == 1:
        print("started", flush=True)
    if seconds and time.monotonic() > deadline:
        break
print(frames, flush=True)
"""


def keel_segments() -> list:
    return sorted(file for file in os.listdir("/dev/shm") if file.startswith("keel."))


def start_writer(name: str, seconds: float) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, name, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": HERE},
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "started":
        child.kill()
        raise AssertionError("the writer did not start")
    return child


def is_whole(frame: np.ndarray) -> bool:
    """Every byte equal to the first: one frame, not parts of two."""
    return bool((frame == frame.flat[0]).all())


class SlotTest(unittest.TestCase):
    """Each test gets a unique name and leaves /dev/shm as it found it."""

    def setUp(self) -> None:
        # The watchdog: a test that hangs (a reader looping on a broken slot) ends the run with
        # every thread's traceback instead of freezing it.
        faulthandler.dump_traceback_later(120, exit=True)
        self.addCleanup(faulthandler.cancel_dump_traceback_later)
        self.before = keel_segments()
        self.name = f"pytest-{os.getpid()}-{self.id().rsplit('.', 1)[-1]}"[:150]
        self.handles: list = []

    def tearDown(self) -> None:
        for handle in self.handles:
            handle.close()
        try:
            SharedObject.unlink(self.name)
        except FileNotFoundError:
            pass
        self.assertEqual(keel_segments(), self.before, "the test left segments in /dev/shm")

    def create(self, value, **options) -> SharedObject:
        handle = SharedObject.create(self.name, value, **options)
        self.handles.append(handle)
        return handle

    def open(self) -> SharedObject:
        handle = SharedObject.open(self.name)
        self.handles.append(handle)
        return handle


class ValueKindsTest(SlotTest):
    def test_every_kind_round_trips_through_another_handle(self) -> None:
        """Every kind keel holds comes back from another handle as the kind that was assigned."""
        value = {
            "none": None,
            "flag": True,
            "x": -0.0,
            "count": -(2**63),
            "label": "caf\u00e9 \u2603\0",
            "raw": b"\x00\xff",
            "frame": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
            "pose": {"xyz": np.array([1.5, 2.5, 3.5]), "id": np.uint64(7).item()},
        }
        writer = self.create(value)
        reader = self.open()
        got = reader.fetch()
        self.assertEqual(list(got), list(value))
        self.assertIsNone(got["none"])
        self.assertIs(got["flag"], True)
        self.assertEqual(struct.pack("<d", got["x"]), struct.pack("<d", -0.0))
        self.assertEqual(got["count"], -(2**63))
        self.assertEqual(got["label"], value["label"])
        self.assertEqual(got["raw"], b"\x00\xff")
        # Nested arrays are stored by length: they come back flat.
        np.testing.assert_array_equal(got["frame"], value["frame"].ravel())
        self.assertEqual(got["frame"].dtype, np.float32)
        np.testing.assert_array_equal(got["pose"]["xyz"], [1.5, 2.5, 3.5])
        value["flag"], value["x"], value["label"] = False, float("nan"), "short"
        writer.assign(value)
        got = reader.fetch()
        self.assertIs(got["flag"], False)
        self.assertTrue(np.isnan(got["x"]))
        self.assertEqual(got["label"], "short")

    def test_a_top_level_array_keeps_its_shape_and_dtype(self) -> None:
        """An array slot is read back with the slot's shape and dtype, as a new array."""
        for dtype in ("i1", "u1", "<i2", "<u2", "<i4", "<u4", "<f4", "<f8", "<i8", "<u8"):
            with self.subTest(dtype=dtype):
                initial = (np.arange(12) % 100).astype(dtype).reshape(3, 4)
                slot = SharedObject.create(self.name, initial)
                try:
                    got = slot.fetch()
                    self.assertEqual((got.shape, got.dtype), ((3, 4), np.dtype(dtype)))
                    np.testing.assert_array_equal(got, initial)
                    self.assertEqual(slot.shape, (3, 4))
                    slot.assign(initial.ravel()[::-1].copy())  # a flat array is accepted too
                    np.testing.assert_array_equal(slot.fetch().ravel(), initial.ravel()[::-1])
                finally:
                    slot.close()
                    SharedObject.unlink(self.name)

    def test_scalars_strings_and_bytes(self) -> None:
        """float is a number slot (ints accepted), int a bigint slot, bytes a Buffer slot."""
        number = self.create(1.5)
        number.assign(3)
        self.assertEqual(number.fetch(), 3.0)
        self.assertIsInstance(number.fetch(), float)
        number.close()
        SharedObject.unlink(self.name)
        text = self.create("x", capacity=8)
        text.assign("12345678")
        self.assertEqual(text.fetch(), "12345678")
        with self.assertRaisesRegex(ValueError, r"value must be a str of at most 8 UTF-8 bytes, got a str of 9"):
            text.assign("123456789")
        text.close()
        SharedObject.unlink(self.name)
        raw = self.create(b"abcd")
        self.assertEqual(raw.kind, "Buffer[4]")
        raw.assign(np.frombuffer(b"wxyz", np.uint8))
        self.assertEqual(raw.fetch(), b"wxyz")


class LayoutTest(SlotTest):
    def test_the_header_and_descriptor_are_nodes(self) -> None:
        """A slot made in Python has Node's header, descriptor JSON and copy placement."""
        slot = self.create(np.zeros((2, 3), np.float32))
        with open(f"/dev/shm/keel.{self.name}", "rb") as file:
            data = file.read()
        magic, descriptor_bytes, lock_kind = struct.unpack_from("<Iii", data, 0)
        self.assertEqual(magic, 0x4B534F31)
        self.assertEqual(lock_kind, 1)
        text = data[256 : 256 + descriptor_bytes].decode()
        self.assertEqual(
            text,
            '{"layout":{"kind":"typed","dtype":"Float32Array","length":6},"shape":[2,3],'
            '"valueBytes":24}',
        )
        copy_offset = -(-(256 + descriptor_bytes) // 64) * 64
        self.assertEqual(len(data), copy_offset + 3 * 64)
        slot.assign(np.full((2, 3), 7, np.float32))
        with open(f"/dev/shm/keel.{self.name}", "rb") as file:
            data = file.read()
        latest = struct.unpack_from("<i", data, 17 * 4)[0]
        self.assertEqual(latest, 1)  # the older spare copy
        self.assertEqual(struct.unpack_from("<f", data, copy_offset + latest * 64)[0], 7.0)
        self.assertEqual(struct.unpack_from("<3i", data, 48 * 4), (0, 2, 0))  # seq: even again
        self.assertEqual(stat.S_IMODE(os.stat(f"/dev/shm/keel.{self.name}").st_mode), 0o600)

    def test_mode_is_applied_exactly(self) -> None:
        """mode sets the segment's permission bits, whatever the umask."""
        old = os.umask(0o077)
        try:
            self.create(1.0, mode=0o640)
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(f"/dev/shm/keel.{self.name}").st_mode), 0o640)


class MismatchTest(SlotTest):
    def test_assign_rejects_what_does_not_fit_naming_the_path(self) -> None:
        """A value of another kind is a TypeError, of another size a ValueError; nothing is written."""
        slot = self.create({"pose": {"xyz": np.zeros(3)}, "n": 1, "ok": True})
        version = slot.mtime
        cases = [
            (TypeError, {"pose": {"xyz": np.zeros(3, np.float32)}, "n": 1, "ok": True}, r"value\.pose\.xyz must be a Float64Array of 3 elements"),
            (ValueError, {"pose": {"xyz": np.zeros(4)}, "n": 1, "ok": True}, r"value\.pose\.xyz must be .* got a numpy float64 array of shape \(4,\)"),
            (TypeError, {"pose": {"xyz": [0.0, 0.0, 0.0]}, "n": 1, "ok": True}, r"got a list"),
            (TypeError, {"pose": {"xyz": np.zeros(3)}, "n": 1.0, "ok": True}, r"value\.n must be an int"),
            (ValueError, {"pose": {"xyz": np.zeros(3)}, "n": 2**63, "ok": True}, r"int64 range"),
            (TypeError, {"pose": {"xyz": np.zeros(3)}, "n": 1, "ok": 1}, r"value\.ok must be a bool"),
            (TypeError, {"pose": {"xyz": np.zeros(3)}, "n": 1}, r"keys \[pose, n, ok\], got a dict with the keys \[pose, n\]"),
            (TypeError, None, r"value must be a dict"),
        ]
        for error, value, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesRegex(error, message):
                    slot.assign(value)
        self.assertEqual(slot.mtime, version)

    def test_create_rejects_what_node_cannot_hold(self) -> None:
        """Lists, float16, bool arrays, keys that are not str and huge ints are refused at create."""
        for value, message in [
            ([1, 2], "got a list"),
            (np.zeros(2, np.float16), "TypedArray kinds"),
            (np.zeros(2, bool), "TypedArray kinds"),
            ({1: 2}, "str keys"),
        ]:
            with self.subTest(message=message):
                with self.assertRaisesRegex(TypeError, message):
                    SharedObject.create(self.name, value)
        with self.assertRaisesRegex(ValueError, "int64"):
            SharedObject.create(self.name, 2**64)
        with self.assertRaisesRegex(ValueError, "shape"):
            SharedObject.create(self.name, np.zeros(6), shape=(4, 2))
        with self.assertRaisesRegex(ValueError, "capacity must be at least"):
            SharedObject.create(self.name, "long text", capacity=3)


class NamesTest(SlotTest):
    def test_bad_names_missing_names_and_taken_names(self) -> None:
        """Bad names are ValueError/TypeError, a missing one FileNotFoundError, a taken one FileExistsError."""
        for name in ["", "a/b", "nul\0", "x" * 201]:
            with self.subTest(name=name[:10]):
                with self.assertRaises((ValueError, TypeError)):
                    SharedObject.open(name)
        with self.assertRaises(TypeError):
            SharedObject.open(3)  # type: ignore[arg-type]
        with self.assertRaisesRegex(FileNotFoundError, "does not exist"):
            SharedObject.open(self.name)
        with self.assertRaisesRegex(FileNotFoundError, "does not exist"):
            SharedObject.unlink(self.name)
        self.create(np.zeros(4, np.int32))
        with self.assertRaisesRegex(FileExistsError, "reuse=True"):
            SharedObject.create(self.name, np.zeros(4, np.int32))
        reused = SharedObject.create(self.name, np.arange(4, dtype=np.int32), reuse=True)
        self.handles.append(reused)
        np.testing.assert_array_equal(self.open().fetch(), [0, 1, 2, 3])
        with self.assertRaisesRegex(TypeError, "exists with another layout"):
            SharedObject.create(self.name, np.zeros(5, np.int32), reuse=True)

    def test_an_unfinished_segment_is_not_found_after_a_second(self) -> None:
        """A segment whose creator died before its magic is FileNotFoundError saying to unlink it."""
        with open(f"/dev/shm/keel.{self.name}", "wb") as file:
            file.write(bytes(4096))
        started = time.monotonic()
        with self.assertRaisesRegex(FileNotFoundError, "never completed"):
            SharedObject.open(self.name)
        self.assertGreater(time.monotonic() - started, 0.9)

    def test_list_shows_the_slot_and_unlink_keeps_handles_working(self) -> None:
        """list() shows the slot as Node does; after unlink, open fails and handles still work."""
        slot = self.create(np.zeros((480, 4), np.uint16))
        entries = [entry for entry in SharedObject.list() if entry["name"] == self.name]
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0]["kind"], "Uint16Array[480x4]")
        self.assertEqual(entries[0]["mtime"], slot.mtime)
        SharedObject.unlink(self.name)
        with self.assertRaises(FileNotFoundError):
            SharedObject.open(self.name)
        slot.assign(np.ones((480, 4), np.uint16))
        self.assertEqual(int(slot.fetch().sum()), 1920)


class ChangeTest(SlotTest):
    def test_modified_triggered_and_mtime(self) -> None:
        """modified and triggered follow other handles' changes; mtime is CLOCK_MONOTONIC, strictly increasing."""
        writer = self.create(0.0)
        reader = self.open()
        self.assertFalse(reader.modified)
        before = time.monotonic_ns()
        writer.assign(1.0)
        self.assertLessEqual(before, writer.mtime)
        self.assertLessEqual(writer.mtime, time.monotonic_ns())
        self.assertFalse(writer.modified)  # its own assign
        self.assertTrue(reader.modified)
        self.assertTrue(reader.triggered)
        self.assertFalse(reader.triggered)
        mtime = writer.mtime
        writer.trigger()
        self.assertGreater(writer.mtime, mtime)
        self.assertTrue(writer.triggered)  # a trigger is seen by its own handle too
        self.assertTrue(reader.modified)
        reader.fetch()
        self.assertFalse(reader.modified)

    def test_changed_times_out_and_wakes_on_another_thread(self) -> None:
        """changed() returns False after its timeout and True soon after another thread assigns."""
        slot = self.create(0.0)
        started = time.monotonic()
        self.assertFalse(slot.changed(timeout=0.2))
        self.assertGreater(time.monotonic() - started, 0.19)
        other = self.open()
        timer = threading.Timer(0.2, lambda: other.assign(1.0))
        timer.start()
        started = time.monotonic()
        self.assertTrue(slot.changed(timeout=10))
        self.assertLess(time.monotonic() - started, 5)
        timer.join()
        for bad in (-1, float("nan"), "1"):
            with self.assertRaises(ValueError):
                slot.changed(timeout=bad)  # type: ignore[arg-type]

    def test_changed_wakes_on_an_assign_in_another_process(self) -> None:
        """A writer in another process wakes changed() here through the shared futex."""
        slot = self.create(np.zeros(16, np.uint8))
        waiter_result: list = []
        waiting = threading.Thread(target=lambda: waiter_result.append(slot.changed(timeout=20)))
        waiting.start()
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys, numpy as np\nfrom keel_shared_object import SharedObject\n"
             "SharedObject.open(sys.argv[1]).assign(np.ones(16, np.uint8))", self.name],
            env={**os.environ, "PYTHONPATH": HERE},
        )
        self.assertEqual(child.wait(timeout=30), 0)
        waiting.join(timeout=20)
        self.assertEqual(waiter_result, [True])
        self.assertEqual(int(slot.fetch().sum()), 16)

    def test_close_ends_a_wait_in_another_thread(self) -> None:
        """close() makes a changed() waiting without timeout in another thread raise ValueError."""
        slot = SharedObject.create(self.name, None)
        errors: list = []

        def wait() -> None:
            try:
                slot.changed()
            except ValueError as error:
                errors.append(str(error))

        waiting = threading.Thread(target=wait)
        waiting.start()
        time.sleep(0.2)
        slot.close()
        waiting.join(timeout=10)
        self.assertFalse(waiting.is_alive())
        self.assertEqual(len(errors), 1)
        self.assertIn("closed", errors[0])
        with self.assertRaisesRegex(ValueError, "closed"):
            slot.fetch()
        slot.close()  # idempotent


class FetchIntoTest(SlotTest):
    def test_fetch_into_fills_the_callers_memory(self) -> None:
        """fetch_into copies into arrays and dicts the caller owns, and refuses what cannot hold the value."""
        frame = self.create(np.arange(6, dtype=np.int32).reshape(2, 3))
        out = np.zeros((2, 3), np.int32)
        self.assertIs(frame.fetch_into(out), out)
        np.testing.assert_array_equal(out, [[0, 1, 2], [3, 4, 5]])
        flat = np.zeros(6, np.int32)
        frame.fetch_into(flat)
        self.assertEqual(flat.tolist(), [0, 1, 2, 3, 4, 5])
        with self.assertRaisesRegex(TypeError, "Int32Array"):
            frame.fetch_into(np.zeros(6, np.int64))
        with self.assertRaisesRegex(ValueError, "shape"):
            frame.fetch_into(np.zeros((3, 2), np.int32))
        read_only = np.zeros(6, np.int32)
        read_only.flags.writeable = False
        with self.assertRaisesRegex(ValueError, "writable"):
            frame.fetch_into(read_only)
        frame.close()
        SharedObject.unlink(self.name)
        state = self.create({"xyz": np.zeros(3), "n": 1.0, "label": "a"})
        state.assign({"xyz": np.ones(3), "n": 2.0, "label": "b"})
        target = state.fetch()
        xyz = target["xyz"]
        state.assign({"xyz": np.full(3, 5.0), "n": 3.0, "label": "c"})
        self.assertIs(state.fetch_into(target), target)
        self.assertIs(target["xyz"], xyz)  # filled in place
        self.assertEqual((xyz.tolist(), target["n"], target["label"]), ([5.0] * 3, 3.0, "c"))
        scalar_slot = SharedObject.create(self.name + "-n", 1.0)
        try:
            with self.assertRaisesRegex(TypeError, "nothing to copy into"):
                scalar_slot.fetch_into(np.zeros(1))
        finally:
            scalar_slot.close()
            SharedObject.unlink(self.name + "-n")

    def test_fetch_into_refuses_targets_sharing_memory(self) -> None:
        """Two target arrays over the same memory are refused before anything is written."""
        state = self.create({"a": np.zeros(4), "b": np.zeros(4)})
        memory = np.zeros(4)
        with self.assertRaisesRegex(ValueError, "share memory"):
            state.fetch_into({"a": memory, "b": memory[::-1]})


class ConcurrencyTest(SlotTest):
    def test_no_torn_frame_while_another_process_assigns_at_full_speed(self) -> None:
        """Reads of 1.2 MB frames here are whole while a child process assigns them at full speed."""
        slot = self.create(np.zeros(FRAME_BYTES, np.uint8))
        writer = start_writer(self.name, 1.5)
        frame = np.empty(FRAME_BYTES, np.uint8)
        reads = torn = 0
        values = set()
        while writer.poll() is None:
            slot.fetch_into(frame) if reads % 2 else np.copyto(frame, slot.fetch())
            reads += 1
            torn += not is_whole(frame)
            values.add(int(frame[0]))
        assert writer.stdout is not None
        frames = int(writer.stdout.read().split()[-1])
        writer.stdout.close()
        self.assertEqual(writer.returncode, 0)
        self.assertEqual(torn, 0, f"{torn} torn frames of {reads}")
        self.assertGreater(len(values), 10)
        self.assertGreater(frames, 100)

    def test_a_writer_sigkilled_inside_assign_never_leaves_the_slot_locked(self) -> None:
        """After a writer is SIGKILLed at random points of its assigns, reads are whole and an assign takes under a second."""
        slot = self.create(np.zeros(FRAME_BYTES, np.uint8))
        frame = np.empty(FRAME_BYTES, np.uint8)
        for round_ in range(1, 9):
            writer = start_writer(self.name, 0)
            time.sleep(np.random.random() * 0.03)
            writer.send_signal(signal.SIGKILL)
            self.assertEqual(writer.wait(timeout=10), -signal.SIGKILL)
            assert writer.stdout is not None
            writer.stdout.close()
            slot.fetch_into(frame)
            self.assertTrue(is_whole(frame), f"round {round_}: torn after the kill")
            started = time.monotonic()
            slot.assign(np.full(FRAME_BYTES, round_, np.uint8))
            self.assertLess(time.monotonic() - started, 1.0, f"round {round_}")
            slot.fetch_into(frame)
            self.assertTrue(is_whole(frame) and frame[0] == round_, f"round {round_}")


if __name__ == "__main__":
    unittest.main()
