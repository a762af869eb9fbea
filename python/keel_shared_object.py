"""Python access to keel's machine-scope SharedObject slots.

A slot is a named latest-value cell in POSIX shared memory (``/dev/shm/keel.<name>``) that a
Node.js program using keel (``SharedObject.create(name, value, { scope: 'machine' })``) and any
number of Python processes read and write at memory speed. Readers never see a torn value,
writers never wait for readers for longer than one copy, a writer killed inside ``assign`` never
leaves the slot locked, and ``changed()`` is woken by the same futex in either language.

The slot's layout and its consistency protocol are keel's, drawn byte by byte in keel's
``docs/processes.md`` ("Machine-scope slots: the layout and the protocol"); this module follows
them step for step. One file, Python >= 3.9, the standard library and numpy; Linux x86-64
(the kernel's futex and glibc's robust mutex, reached through ctypes).

Example::

    from keel_shared_object import SharedObject
    cam = SharedObject.open("camera")        # a slot a Node process created
    frame = cam.fetch()                      # numpy array shaped like the slot, a consistent copy
    if cam.changed(timeout=0.1):             # True on the next assign/trigger by any process
        cam.fetch_into(frame)                # the same copy, into memory you own
    det = SharedObject.create("detections", np.zeros((16, 4), np.float32))
    det.assign(boxes)                        # Node opens it by name
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
import mmap
import os
import platform
import struct
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

__all__ = ["SharedObject"]

# --- The slot layout (docs/processes.md; src/memory/shared-object/layout.ts on the Node side) ---

_MAGIC = 0x4B534F31  # 'KSO1'
_HEADER_BYTES = 256  # where the descriptor starts
_COPY_COUNT = 3
_COPY_ALIGN_BYTES = 64
_FIELD_ALIGN_BYTES = 8
_STRING_HEADER_BYTES = 4
_MIN_STRING_CAPACITY_BYTES = 64
_MAX_DEPTH = 64
_LOCK_ROBUST_MUTEX = 1  # header word lockKind of a machine-scope slot
_MUTEX_OFFSET_BYTES = 16
_MTIME_OFFSET_BYTES = 88

# Int32 word indexes of the header (byte offset / 4).
_W_MAGIC = 0
_W_DESCRIPTOR_BYTES = 1
_W_LOCK_KIND = 2
_W_LATEST = 17
_W_VERSION = 18
_W_WAITERS = 19
_W_PUBLISHED = 24
_W_PINS = 32
_W_SEQ = 48
_W_CLAIMS = 52

_SEGMENT_DIRECTORY = "/dev/shm"
_SEGMENT_PREFIX = "keel."
_MAX_NAME_BYTES = 200
_DEFAULT_MODE = 0o600
_COMPLETION_WAIT_S = 1.0  # how long open() waits for a slot another process is still creating
_MIN_COPY_ESTIMATE_S = 0.000005
# The futex wait in changed() is re-armed at least this often, so that Ctrl-C reaches a program
# whose SIGINT was delivered to another thread; the change itself wakes it at once.
_MAX_WAIT_SLICE_S = 1.0

# TypedArray kinds (the layout's dtype names) and their numpy dtypes, little-endian as on every
# platform keel supports. Buffer and Uint8ClampedArray have no numpy twin: they read as uint8.
_DTYPES: Dict[str, np.dtype] = {
    "Int8Array": np.dtype("i1"),
    "Uint8Array": np.dtype("u1"),
    "Uint8ClampedArray": np.dtype("u1"),
    "Buffer": np.dtype("u1"),
    "Int16Array": np.dtype("<i2"),
    "Uint16Array": np.dtype("<u2"),
    "Int32Array": np.dtype("<i4"),
    "Uint32Array": np.dtype("<u4"),
    "Float32Array": np.dtype("<f4"),
    "Float64Array": np.dtype("<f8"),
    "BigInt64Array": np.dtype("<i8"),
    "BigUint64Array": np.dtype("<u8"),
}
# What a new slot made from a numpy array of each dtype is (bytes-likes make a Buffer slot).
_KIND_OF_DTYPE: Dict[np.dtype, str] = {
    np.dtype("i1"): "Int8Array",
    np.dtype("u1"): "Uint8Array",
    np.dtype("<i2"): "Int16Array",
    np.dtype("<u2"): "Uint16Array",
    np.dtype("<i4"): "Int32Array",
    np.dtype("<u4"): "Uint32Array",
    np.dtype("<f4"): "Float32Array",
    np.dtype("<f8"): "Float64Array",
    np.dtype("<i8"): "BigInt64Array",
    np.dtype("<u8"): "BigUint64Array",
}
_BYTE_KINDS = ("Buffer", "Uint8Array", "Uint8ClampedArray")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

Layout = Dict[str, Any]  # one node of the descriptor's layout tree, as JSON


# --- The kernel and glibc, through ctypes ---------------------------------------------------


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_FUTEX_WAIT = 0
_FUTEX_WAKE = 1
_FUTEX_WAKE_OP = 5
_FUTEX_PRIVATE_FLAG = 128
_FUTEX_OP_SET = 0
_FUTEX_OP_ADD = 1
_INT_MAX = 2**31 - 1
_CLOCK_MONOTONIC = 1
_CLOCK_REALTIME = 0

# SYS_futex and glibc's sizeof(pthread_mutex_t), per architecture. The Node side checks the
# addon's own size against the 48 bytes the header holds; x86-64 is the tested platform.
_PLATFORMS = {"x86_64": (202, 40), "AMD64": (202, 40), "aarch64": (98, 48), "arm64": (98, 48)}
_MACHINE = platform.machine()
# x86-64 (TSO) never reorders a load with an earlier load: the reader's no-op read-modify-write
# before its final sequence check is needed only on weaker CPUs (see docs/processes.md).
_STRONG_ORDERING = _MACHINE in ("x86_64", "AMD64")


class _Native:
    """The few system calls and glibc functions a slot needs, loaded once."""

    def __init__(self) -> None:
        if not os.uname().sysname == "Linux" or _MACHINE not in _PLATFORMS:
            raise OSError(
                errno.ENOTSUP,
                f"keel_shared_object needs Linux on x86-64 (or arm64), not {os.uname().sysname} "
                f"on {_MACHINE}",
            )
        self.futex_number, self.mutex_bytes = _PLATFORMS[_MACHINE]
        libc = ctypes.CDLL(None, use_errno=True)
        self.syscall = libc.syscall
        self.syscall.restype = ctypes.c_long
        self.mutex_lock = self._function(libc, "pthread_mutex_lock", [ctypes.c_void_p])
        self.mutex_unlock = self._function(libc, "pthread_mutex_unlock", [ctypes.c_void_p])
        self.mutex_consistent = self._function(libc, "pthread_mutex_consistent", [ctypes.c_void_p])
        self.mutex_init = self._function(
            libc, "pthread_mutex_init", [ctypes.c_void_p, ctypes.c_void_p]
        )
        self.attr_init = self._function(libc, "pthread_mutexattr_init", [ctypes.c_void_p])
        self.attr_setpshared = self._function(
            libc, "pthread_mutexattr_setpshared", [ctypes.c_void_p, ctypes.c_int]
        )
        self.attr_setrobust = self._function(
            libc, "pthread_mutexattr_setrobust", [ctypes.c_void_p, ctypes.c_int]
        )
        # pthread_mutex_clocklock (glibc >= 2.30) waits on CLOCK_MONOTONIC, as the addon does;
        # older glibc has only the CLOCK_REALTIME timedlock.
        try:
            self.mutex_clocklock: Optional[Callable[..., int]] = self._function(
                libc,
                "pthread_mutex_clocklock",
                [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Timespec)],
            )
        except AttributeError:
            self.mutex_clocklock = None
        self.mutex_timedlock = self._function(
            libc, "pthread_mutex_timedlock", [ctypes.c_void_p, ctypes.POINTER(_Timespec)]
        )
        # A private word for fences: a locked instruction on any address orders all memory.
        self._scratch = ctypes.c_int32(0)
        self._scratch_address = ctypes.addressof(self._scratch)

    @staticmethod
    def _function(library: ctypes.CDLL, name: str, argtypes: List[Any]) -> Callable[..., int]:
        function = getattr(library, name)
        function.argtypes = argtypes
        function.restype = ctypes.c_int
        return function

    def atomic_op(self, address: int, op: int, argument: int) -> None:
        """An atomic read-modify-write of the int32 at `address`, done by the kernel.

        Python cannot issue a locked instruction itself. FUTEX_WAKE_OP does one for it on any
        word (``*address = *address OP argument``, a ``lock xadd`` / ``xchg`` on x86-64, which is
        also a full memory barrier), waking nobody here (both wake counts 0). `argument` is the
        kernel's 12-bit signed operand: -2048 to 2047.
        """
        encoded = ((op & 0xF) << 28) | ((argument & 0xFFF) << 12)
        result = self.syscall(
            self.futex_number,
            ctypes.c_void_p(address),
            _FUTEX_WAKE_OP | _FUTEX_PRIVATE_FLAG,
            0,
            ctypes.c_void_p(0),
            ctypes.c_void_p(address),
            encoded,
        )
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"futex(FUTEX_WAKE_OP): {os.strerror(code)}")

    def fence(self) -> None:
        """A full memory barrier (a locked no-op on a private word, see atomic_op)."""
        self.atomic_op(self._scratch_address, _FUTEX_OP_ADD, 0)

    def futex_wait(self, address: int, expected: int, timeout_s: float) -> None:
        """Sleeps while the int32 at `address` holds `expected`, at most `timeout_s`.

        Shared futex (no FUTEX_PRIVATE_FLAG): keyed by the physical page, so a wake from any
        process that maps the segment, Node's included, reaches it. Returns on a wake, a
        timeout, a changed word or a signal alike: the caller re-checks.
        """
        seconds = int(timeout_s)
        relative = _Timespec(seconds, int((timeout_s - seconds) * 1e9))
        self.syscall(
            self.futex_number,
            ctypes.c_void_p(address),
            _FUTEX_WAIT,
            ctypes.c_int32(expected),
            ctypes.byref(relative),
            ctypes.c_void_p(0),
            0,
        )

    def futex_wake_all(self, address: int) -> None:
        """Wakes every waiter of the int32 at `address`, in any process (shared futex)."""
        self.syscall(
            self.futex_number,
            ctypes.c_void_p(address),
            _FUTEX_WAKE,
            _INT_MAX,
            ctypes.c_void_p(0),
            ctypes.c_void_p(0),
            0,
        )


_native_instance: Optional[_Native] = None


def _native() -> _Native:
    global _native_instance
    if _native_instance is None:
        _native_instance = _Native()
    return _native_instance


# --- Value layouts: the same kinds and rules as value-layouts.ts ---------------------------


def _align(size: int, alignment: int = _FIELD_ALIGN_BYTES) -> int:
    return -(-size // alignment) * alignment


def _utf8(value: str) -> bytes:
    # A lone surrogate cannot be UTF-8; Node stores U+FFFD for it, and so does this.
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode("utf-8")


def _layout_bytes(layout: Layout) -> int:
    """Bytes one value of `layout` takes in a copy, every field aligned to 8."""
    kind = layout["kind"]
    if kind == "null":
        return 0
    if kind in ("boolean", "number", "bigint"):
        return _FIELD_ALIGN_BYTES
    if kind == "string":
        return _align(_STRING_HEADER_BYTES + layout["capacityBytes"])
    if kind == "typed":
        return _align(layout["length"] * _DTYPES[layout["dtype"]].itemsize)
    return sum(_layout_bytes(child) for child in layout["values"])


def _is_bytes_like(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview))


def _layout_of(value: Any, path: str, capacity: Optional[int] = None, depth: int = 0) -> Layout:
    """The layout of a new slot holding `value` (TypeError naming the path of a bad leaf)."""
    if value is None:
        return {"kind": "null"}
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "boolean"}
    if isinstance(value, (int, np.integer)):
        if not _INT64_MIN <= int(value) <= _INT64_MAX:
            raise ValueError(f"{path} must be an int in the int64 range (a bigint), got {value}")
        return {"kind": "bigint"}
    if isinstance(value, (float, np.floating)):
        return {"kind": "number"}
    if isinstance(value, str):
        default = max(2 * len(_utf8(value)), _MIN_STRING_CAPACITY_BYTES)
        return {"kind": "string", "capacityBytes": default if capacity is None else capacity}
    if _is_bytes_like(value):
        return {"kind": "typed", "dtype": "Buffer", "length": memoryview(value).nbytes}
    if isinstance(value, np.ndarray):
        kind = _KIND_OF_DTYPE.get(value.dtype)
        if kind is None:
            raise TypeError(
                f"{path} must be a numpy array of int8, uint8, int16, uint16, int32, uint32, "
                f"float32, float64, int64 or uint64 (the TypedArray kinds), got {_describe(value)}"
            )
        return {"kind": "typed", "dtype": kind, "length": int(value.size)}
    if isinstance(value, dict) and depth < _MAX_DEPTH:
        keys = list(value.keys())
        for key in keys:
            if not isinstance(key, str):
                raise TypeError(f"{path} must have str keys, got the key {key!r}")
        values = [_layout_of(value[key], f"{path}.{key}", None, depth + 1) for key in keys]
        return {"kind": "object", "keys": keys, "values": values}
    expected = (
        f"nested at most {_MAX_DEPTH} levels deep"
        if depth >= _MAX_DEPTH
        else "None, a bool, a float, an int, a str, bytes, a numpy array or a dict of these"
    )
    raise TypeError(f"{path} must be {expected}, got {_describe(value)}")


def _describe_layout(layout: Layout, shape: Optional[Tuple[int, ...]] = None) -> str:
    """What a value of `layout` must be, in Node's words and Python's."""
    kind = layout["kind"]
    if kind == "null":
        return "None (null)"
    if kind == "boolean":
        return "a bool"
    if kind == "number":
        return "a float (a number)"
    if kind == "bigint":
        return "an int in the int64 range (a bigint)"
    if kind == "string":
        return f"a str of at most {layout['capacityBytes']} UTF-8 bytes"
    if kind == "typed":
        dtype, length = layout["dtype"], layout["length"]
        python = (
            "bytes-like or numpy uint8"
            if dtype in _BYTE_KINDS
            else f"numpy {_DTYPES[dtype].name}"
        )
        shaped = f", shape {shape}" if shape is not None and len(shape) != 1 else ""
        return f"a {dtype} of {length} elements ({python}{shaped})"
    return f"a dict with the keys [{', '.join(layout['keys'])}]"


def _describe(value: Any) -> str:
    """A short description of a value that did not fit."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"a numpy {value.dtype.name} array of shape {value.shape}"
    if isinstance(value, str):
        return f"a str of {len(_utf8(value))} UTF-8 bytes"
    if _is_bytes_like(value):
        return f"{type(value).__name__} of {memoryview(value).nbytes} bytes"
    if isinstance(value, dict):
        return f"a dict with the keys [{', '.join(str(key) for key in value)}]"
    if isinstance(value, (bool, int, float)):
        return f"{type(value).__name__} {value!r}"
    return f"a {type(value).__name__}"


# --- Binding a layout to the three copies ------------------------------------------------------


class _Field:
    """One field of a slot's layout at its offset in each copy (bound-layouts.ts's BoundLayout).

    `prepare` checks and converts a value before the writer takes the lock, so that no user
    code runs while it holds it; `write` stores a prepared value into a copy the writer owns;
    `read` / `read_into` copy out of a pinned copy and never raise on torn bytes (such a read
    is discarded by the sequence check).
    """

    def prepare(self, value: Any, path: str) -> Any:
        raise NotImplementedError

    def write(self, copy: int, prepared: Any) -> None:
        raise NotImplementedError

    def read(self, copy: int) -> Any:
        raise NotImplementedError

    def check_target(self, target: Any, path: str, arrays: List[np.ndarray]) -> None:
        """Whether `target` can be filled by read_into (TypeError/ValueError); collects arrays."""
        raise TypeError(
            f"{path}: a slot field of this kind has nothing to copy into; use fetch()"
        )

    def read_into(self, copy: int, target: Any) -> Any:
        """Fills `target` in place when it can (arrays, dicts); returns what the parent holds."""
        return self.read(copy)


def _mismatch(layout: Layout, value: Any, path: str, shape: Any = None) -> TypeError:
    return TypeError(f"{path} must be {_describe_layout(layout, shape)}, got {_describe(value)}")


class _NullField(_Field):
    layout: Layout = {"kind": "null"}

    def prepare(self, value: Any, path: str) -> Any:
        if value is not None:
            raise _mismatch(self.layout, value, path)
        return None

    def write(self, copy: int, prepared: Any) -> None:
        pass

    def read(self, copy: int) -> Any:
        return None


class _ScalarField(_Field):
    """A bool (1 byte), a number (float64) or a bigint (int64), through struct."""

    def __init__(self, memory: mmap.mmap, offsets: List[int], layout: Layout) -> None:
        self.memory = memory
        self.offsets = offsets
        self.layout = layout
        self.format = {"boolean": "<B", "number": "<d", "bigint": "<q"}[layout["kind"]]

    def prepare(self, value: Any, path: str) -> Any:
        kind = self.layout["kind"]
        is_bool = isinstance(value, (bool, np.bool_))
        if kind == "boolean":
            if not is_bool:
                raise _mismatch(self.layout, value, path)
            return 1 if value else 0
        if kind == "number":
            if is_bool or not isinstance(value, (int, float, np.integer, np.floating)):
                raise _mismatch(self.layout, value, path)
            try:
                return float(value)
            except OverflowError:
                raise ValueError(f"{path} must be a float (a number), got an int too large for one")
        if is_bool or not isinstance(value, (int, np.integer)):
            raise _mismatch(self.layout, value, path)
        if not _INT64_MIN <= int(value) <= _INT64_MAX:
            raise ValueError(f"{path} must be an int in the int64 range (a bigint), got {value}")
        return int(value)

    def write(self, copy: int, prepared: Any) -> None:
        struct.pack_into(self.format, self.memory, self.offsets[copy], prepared)

    def read(self, copy: int) -> Any:
        value = struct.unpack_from(self.format, self.memory, self.offsets[copy])[0]
        return value != 0 if self.format == "<B" else value


class _StringField(_Field):
    """u32 byte length, then `capacityBytes` of UTF-8."""

    def __init__(self, memory: mmap.mmap, offsets: List[int], layout: Layout) -> None:
        self.memory = memory
        self.offsets = offsets
        self.layout = layout
        self.capacity = layout["capacityBytes"]

    def prepare(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _mismatch(self.layout, value, path)
        encoded = _utf8(value)
        if len(encoded) > self.capacity:
            raise ValueError(
                f"{path} must be {_describe_layout(self.layout)}, got {_describe(value)}"
            )
        return encoded

    def write(self, copy: int, prepared: Any) -> None:
        start = self.offsets[copy] + _STRING_HEADER_BYTES
        self.memory[start : start + len(prepared)] = prepared
        struct.pack_into("<I", self.memory, self.offsets[copy], len(prepared))

    def read(self, copy: int) -> Any:
        # Clamped: a torn length must not raise (the result is discarded by validation).
        length = min(struct.unpack_from("<I", self.memory, self.offsets[copy])[0], self.capacity)
        start = self.offsets[copy] + _STRING_HEADER_BYTES
        return self.memory[start : start + length].decode("utf-8", "replace")


class _TypedField(_Field):
    """A TypedArray: a numpy view per copy; `shape` only for a top-level array."""

    def __init__(
        self,
        memory: mmap.mmap,
        offsets: List[int],
        layout: Layout,
        shape: Optional[Tuple[int, ...]],
    ) -> None:
        self.layout = layout
        self.kind = layout["dtype"]
        self.dtype = _DTYPES[self.kind]
        self.length = layout["length"]
        self.shape = shape if shape is not None else (self.length,)
        # A nested array has no shape in the descriptor: any shape of the right size fits.
        self.any_shape = shape is None
        self.views = [
            np.frombuffer(memory, self.dtype, self.length, offset).reshape(self.shape)
            for offset in offsets
        ]

    def _fits(self, array: np.ndarray) -> bool:
        """Same element count, and the slot's shape unless the array is flat (as Node's are)."""
        return array.size == self.length and (
            self.any_shape or array.ndim == 1 or array.shape == self.shape
        )

    def _as_array(self, value: Any) -> Optional[np.ndarray]:
        if isinstance(value, np.ndarray):
            if value.dtype == self.dtype:
                return value
            return None
        if _is_bytes_like(value) and self.kind in _BYTE_KINDS:
            return np.frombuffer(value, np.uint8)
        return None

    def prepare(self, value: Any, path: str) -> Any:
        array = self._as_array(value)
        if array is None:
            raise _mismatch(self.layout, value, path, self.shape)
        if not self._fits(array):
            raise ValueError(
                f"{path} must be {_describe_layout(self.layout, self.shape)}, got {_describe(value)}"
            )
        return array.reshape(self.shape)

    def write(self, copy: int, prepared: Any) -> None:
        np.copyto(self.views[copy], prepared, casting="no")

    def read(self, copy: int) -> Any:
        if self.kind == "Buffer":
            return self.views[copy].tobytes()
        result = np.empty(self.shape, self.dtype)
        np.copyto(result, self.views[copy])
        return result

    def check_target(self, target: Any, path: str, arrays: List[np.ndarray]) -> None:
        array = self._as_array(target)
        if array is None:
            raise _mismatch(self.layout, target, path, self.shape)
        if not self._fits(array):
            raise ValueError(
                f"{path} must be {_describe_layout(self.layout, self.shape)}, got {_describe(target)}"
            )
        if not array.flags.writeable:
            raise ValueError(f"{path} must be writable, got a read-only {_describe(target)}")
        arrays.append(array)

    def read_into(self, copy: int, target: Any) -> Any:
        if isinstance(target, bytes):
            return self.read(copy)  # immutable: replaced, as a string field is
        array = self._as_array(target)
        assert array is not None
        np.copyto(array.reshape(self.shape), self.views[copy])
        return target


class _ObjectField(_Field):
    """A dict: its fields in the layout's key order, each at its own offset."""

    def __init__(self, layout: Layout, fields: List[_Field]) -> None:
        self.layout = layout
        self.keys: List[str] = layout["keys"]
        self.fields = fields

    def _check_keys(self, value: Any, path: str) -> None:
        if not isinstance(value, dict) or set(value.keys()) != set(self.keys):
            raise _mismatch(self.layout, value, path)

    def prepare(self, value: Any, path: str) -> Any:
        self._check_keys(value, path)
        return [
            field.prepare(value[key], f"{path}.{key}") for key, field in zip(self.keys, self.fields)
        ]

    def write(self, copy: int, prepared: Any) -> None:
        for field, part in zip(self.fields, prepared):
            field.write(copy, part)

    def read(self, copy: int) -> Any:
        return {key: field.read(copy) for key, field in zip(self.keys, self.fields)}

    def check_target(self, target: Any, path: str, arrays: List[np.ndarray]) -> None:
        self._check_keys(target, path)
        for key, field in zip(self.keys, self.fields):
            held = target[key]
            # Scalars, strings and bytes are replaced, whatever the target held before.
            if isinstance(field, _TypedField) and not isinstance(held, bytes):
                field.check_target(held, f"{path}.{key}", arrays)
            elif isinstance(field, _ObjectField):
                field.check_target(held, f"{path}.{key}", arrays)

    def read_into(self, copy: int, target: Any) -> Any:
        for key, field in zip(self.keys, self.fields):
            target[key] = field.read_into(copy, target[key])
        return target


def _bind(
    layout: Layout,
    memory: mmap.mmap,
    bases: List[int],
    offset: int = 0,
    shape: Optional[Tuple[int, ...]] = None,
) -> _Field:
    """`layout` bound at `offset` inside each copy starting at `bases[i]`."""
    offsets = [base + offset for base in bases]
    kind = layout["kind"]
    if kind == "null":
        return _NullField()
    if kind in ("boolean", "number", "bigint"):
        return _ScalarField(memory, offsets, layout)
    if kind == "string":
        return _StringField(memory, offsets, layout)
    if kind == "typed":
        return _TypedField(memory, offsets, layout, shape)
    fields = []
    for child in layout["values"]:
        fields.append(_bind(child, memory, bases, offset))
        offset += _layout_bytes(child)
    return _ObjectField(layout, fields)


def _check_layout(layout: Any, depth: int = 0) -> int:
    """Validates a layout read from a segment (any program may have written it); its bytes."""
    ok = isinstance(layout, dict) and depth <= _MAX_DEPTH
    kind = layout.get("kind") if ok else None
    if kind in ("null", "boolean", "number", "bigint"):
        return _layout_bytes(layout)
    if kind == "string" and _is_count(layout.get("capacityBytes")):
        return _layout_bytes(layout)
    if kind == "typed" and layout.get("dtype") in _DTYPES and _is_count(layout.get("length")):
        return _layout_bytes(layout)
    if kind == "object":
        keys, values = layout.get("keys"), layout.get("values")
        if (
            isinstance(keys, list)
            and isinstance(values, list)
            and len(keys) == len(values)
            and all(isinstance(key, str) for key in keys)
        ):
            return sum(_check_layout(child, depth + 1) for child in values)
    raise ValueError("the slot's descriptor holds a layout this version does not know")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --- Names and segments ---------------------------------------------------------------------


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {_describe(name)}")
    size = len(name.encode("utf-8", "surrogatepass"))
    if "/" in name or "\0" in name or size > _MAX_NAME_BYTES:
        shown = f"a name of {size} bytes" if size > 64 else repr(name)
        raise ValueError(
            f"name must be a machine-scope name of 1 to {_MAX_NAME_BYTES} UTF-8 bytes without "
            f"'/' or NUL, got {shown}"
        )
    return name


def _segment_path(name: str) -> str:
    return f"{_SEGMENT_DIRECTORY}/{_SEGMENT_PREFIX}{name}"


def _permission_error(name: str, cause: OSError) -> PermissionError:
    return PermissionError(
        cause.errno,
        f'SharedObject "{name}": the segment {_segment_path(name)} belongs to another user (or '
        "its mode refuses this one); run this program as the user who created it, or have the "
        "creator pass mode=0o660 (its group) or 0o666 (everyone) to create",
    )


def _plan(descriptor: Dict[str, Any]) -> Tuple[bytes, int, int, int]:
    """(descriptor JSON, copy 0 offset, copy stride, total bytes) of a new slot."""
    # Compact, keys in Node's order, non-ASCII as is: what JSON.stringify writes.
    text = json.dumps(descriptor, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    copy_offset = _align(_HEADER_BYTES + len(text), _COPY_ALIGN_BYTES)
    stride = _align(max(descriptor["valueBytes"], 1), _COPY_ALIGN_BYTES)
    return text, copy_offset, stride, copy_offset + _COPY_COUNT * stride


def _map(fd: int, size: int) -> mmap.mmap:
    return mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)


def _int32(value: int) -> int:
    """`value` wrapped to a signed 32-bit integer, as JavaScript's `| 0`."""
    return (value + 2**31) % 2**32 - 2**31


# --- The slot ---------------------------------------------------------------------------------


class SharedObject:
    """A handle on a machine-scope keel slot: one value of a fixed layout, shared by name.

    Value kinds, and what each is on the Node side:

    ========================== ================================================================
    Python                     Node
    ========================== ================================================================
    ``None``                   ``null`` (a pure signal slot: ``trigger`` / ``changed``)
    ``bool``                   boolean
    ``float``                  number (float64); an ``int`` is accepted when assigning
    ``int``                    bigint (int64; outside ``[-2**63, 2**63)``: ``ValueError``)
    ``str``                    string (UTF-8, a byte capacity fixed at create)
    ``bytes`` / ``bytearray``  ``Buffer`` (read back as ``bytes``)
    numpy array                the TypedArray of its dtype: int8 ``Int8Array``, uint8
                               ``Uint8Array``, int16, uint16, int32, uint32, float32
                               ``Float32Array``, float64, int64 ``BigInt64Array``, uint64
    ``dict`` of these          a plain object (keys in the dict's order, 64 levels at most)
    ========================== ================================================================

    Every method may be called from any thread. ``fetch``, ``fetch_into``, ``modified``,
    ``triggered`` and ``mtime`` never block; ``assign`` and ``trigger`` may wait behind another
    writer for at most that writer's copy; ``changed`` blocks until a change or its timeout.
    """

    def __init__(self, name: str, memory: mmap.mmap):
        """Use ``SharedObject.open`` or ``SharedObject.create``: this wraps a complete slot."""
        self.name = name
        self._native = _native()
        self._memory = memory
        self._words = (ctypes.c_int32 * (_HEADER_BYTES // 4)).from_buffer(memory)
        self._mtime = ctypes.c_int64.from_buffer(memory, _MTIME_OFFSET_BYTES)
        self._address = ctypes.addressof(self._words)
        descriptor = self._read_descriptor()
        self._layout: Layout = descriptor["layout"]
        shape = descriptor.get("shape")
        self._shape: Optional[Tuple[int, ...]] = tuple(shape) if shape is not None else None
        self._value_bytes: int = descriptor["valueBytes"]
        bases = [self._copy_offset + copy * self._copy_stride for copy in range(_COPY_COUNT)]
        self._field = _bind(self._layout, memory, bases, 0, self._shape)
        self._copies = [
            np.frombuffer(memory, np.uint8, self._value_bytes, base) for base in bases
        ]
        self._copy_estimate_s = max(_MIN_COPY_ESTIMATE_S, self._value_bytes / 1e9)
        # 100 MB/s is far below any memcpy: only a writer that died or stopped holds it so long.
        self._lock_timeout_s = 2.0 + self._value_bytes / 1e8
        self._closed = False
        self._waiting = 0
        self._seen_version = self._words[_W_VERSION]

    # --- opening, creating, removing ---

    @classmethod
    def open(cls, name: str) -> "SharedObject":
        """Opens the machine-scope slot `name`, created by any process of this user.

        FileNotFoundError when there is none (or its creator died while creating it);
        PermissionError for another user's slot; ValueError for a segment that is not a keel
        slot of this layout version; TypeError/ValueError for a bad name.
        """
        _check_name(name)
        try:
            fd = os.open(_segment_path(name), os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT, f'SharedObject "{name}" does not exist'
            ) from None
        except PermissionError as error:
            raise _permission_error(name, error) from None
        try:
            memory = cls._map_when_complete(name, fd)
        finally:
            os.close(fd)
        return cls(name, memory)

    @staticmethod
    def _map_when_complete(name: str, fd: int) -> mmap.mmap:
        """Maps the segment once its creator sized it and wrote the magic (at most 1 s)."""
        deadline = time.monotonic() + _COMPLETION_WAIT_S
        while True:
            size = os.fstat(fd).st_size
            if size >= _HEADER_BYTES:
                memory = _map(fd, size)
                magic = struct.unpack_from("<i", memory, 0)[0]
                if magic == _MAGIC:
                    return memory
                memory.close()
                if magic != 0:
                    raise ValueError(
                        f'SharedObject "{name}": the segment {_segment_path(name)} is not a '
                        "SharedObject slot of this keel version"
                    )
            if time.monotonic() >= deadline:
                raise FileNotFoundError(
                    errno.ENOENT,
                    f'SharedObject "{name}": its segment exists but was never completed (its '
                    f"creator died while creating it); remove it with SharedObject.unlink({name!r})"
                    f" or npx keel shm unlink {name}",
                )
            time.sleep(0.001)

    @classmethod
    def create(
        cls,
        name: str,
        value: Any,
        *,
        shape: Optional[Tuple[int, ...]] = None,
        capacity: Optional[int] = None,
        mode: int = _DEFAULT_MODE,
        reuse: bool = False,
    ) -> "SharedObject":
        """Creates the machine-scope slot `name` holding `value`; Node opens it by name.

        The value's kind, array dtype and length, dict keys and string capacity are fixed from
        then on. `shape`: the shape Node reports for an array slot (default the array's own);
        `capacity`: a str slot's UTF-8 byte capacity (default ``max(2 * len(utf8), 64)``);
        `mode`: the segment's permission bits (default 0o600, the user only; umask does not
        apply). FileExistsError when the name is taken, unless `reuse`: then the existing slot
        must fit `value` (else TypeError) and `value` is assigned to it. TypeError/ValueError
        for a value or option Node could not hold either; OSError ENOSPC when /dev/shm is full.
        """
        _check_name(name)
        descriptor = cls._describe_initial(value, shape, capacity)
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
            raise ValueError(f"mode must be an int from 0 to 0o777, got {mode!r}")
        if not isinstance(reuse, bool):
            raise TypeError(f"reuse must be a bool, got {_describe(reuse)}")
        created = cls._create_segment(name, descriptor, value, mode)
        if created is not None:
            return created
        if not reuse:
            raise FileExistsError(
                errno.EEXIST,
                f'SharedObject "{name}" already exists on this machine (pass reuse=True to attach '
                f"to it, or remove it with SharedObject.unlink({name!r}))",
            )
        existing = cls.open(name)
        existing._check_reusable(value, shape, capacity)
        return existing.assign(value)

    @staticmethod
    def _describe_initial(
        value: Any, shape: Optional[Tuple[int, ...]], capacity: Optional[int]
    ) -> Dict[str, Any]:
        """The descriptor of a new slot for `value`, with the options checked against it."""
        if capacity is not None:
            if not isinstance(value, str):
                raise TypeError("capacity must be None for a value that is not a str")
            if not _is_count(capacity) or capacity > 2**31:
                raise ValueError(f"capacity must be an int from 0 to 2**31, got {capacity!r}")
            if len(_utf8(value)) > capacity:
                raise ValueError(
                    f"capacity must be at least the initial str's UTF-8 length "
                    f"({len(_utf8(value))} bytes), got {capacity}"
                )
        layout = _layout_of(value, "value", capacity)
        if layout["kind"] == "typed":
            natural = value.shape if isinstance(value, np.ndarray) else (layout["length"],)
            given = natural if shape is None else tuple(shape)
            if not all(_is_count(n) for n in given) or math.prod(given) != layout["length"]:
                raise ValueError(
                    f"shape must be a tuple of ints whose product is {layout['length']}, got {shape!r}"
                )
            slot_shape: Optional[List[int]] = [int(n) for n in given]
        elif shape is not None:
            raise TypeError("shape must be None for a value that is not an array or bytes")
        else:
            slot_shape = None
        return {"layout": layout, "shape": slot_shape, "valueBytes": _layout_bytes(layout)}

    @classmethod
    def _create_segment(
        cls, name: str, descriptor: Dict[str, Any], value: Any, mode: int
    ) -> Optional["SharedObject"]:
        """Creates and fills the segment (magic last); None when the name is taken."""
        text, _, _, total = _plan(descriptor)
        path = _segment_path(name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            return None
        except PermissionError as error:
            raise _permission_error(name, error) from None
        try:
            os.fchmod(fd, mode)
            # Reserved up front: a full /dev/shm fails here, not later with SIGBUS on a write.
            os.posix_fallocate(fd, 0, total)
            memory = _map(fd, total)
            return cls._fill(name, memory, text, descriptor, value)
        except BaseException as error:
            os.unlink(path)
            if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                raise OSError(
                    errno.ENOSPC,
                    f'SharedObject "{name}": {_SEGMENT_DIRECTORY} has no room for {total} bytes; '
                    "remove unused slots (npx keel shm list, npx keel shm unlink NAME) or enlarge "
                    "it (in Docker, --shm-size, whose default is 64 MiB)",
                ) from None
            raise
        finally:
            os.close(fd)

    @classmethod
    def _fill(
        cls, name: str, memory: mmap.mmap, text: bytes, descriptor: Dict[str, Any], value: Any
    ) -> "SharedObject":
        """Header, descriptor, robust mutex, copy 0 and mtime, then the magic."""
        struct.pack_into("<ii", memory, _W_DESCRIPTOR_BYTES * 4, len(text), _LOCK_ROBUST_MUTEX)
        memory[_HEADER_BYTES : _HEADER_BYTES + len(text)] = text
        handle = cls(name, memory)
        _init_robust_mutex(handle._native, handle._address + _MUTEX_OFFSET_BYTES)
        handle._field.write(0, handle._field.prepare(value, "value"))
        handle._mtime.value = time.monotonic_ns()
        # Makes the whole slot visible to an open() in another process, which waits for the
        # magic: stores are ordered on x86-64, and the fence pushes this one out now.
        handle._words[_W_MAGIC] = _MAGIC
        handle._native.fence()
        return handle

    def _check_reusable(
        self, value: Any, shape: Optional[Tuple[int, ...]], capacity: Optional[int]
    ) -> None:
        try:
            self._field.prepare(value, "value")
            if shape is not None and tuple(shape) != self._shape:
                raise TypeError(f"shape must be {self._shape}, got {tuple(shape)}")
            if (
                capacity is not None
                and self._layout["kind"] == "string"
                and capacity != self._layout["capacityBytes"]
            ):
                raise TypeError(f"capacity must be {self._layout['capacityBytes']}, got {capacity}")
        except (TypeError, ValueError) as problem:
            raise TypeError(
                f'SharedObject "{self.name}" exists with another layout: {problem}'
            ) from None

    @staticmethod
    def unlink(name: str) -> None:
        """Removes the name (as ``shm_unlink``): open then fails, create makes a new slot.

        Handles already open, in any process, keep working on the old slot. FileNotFoundError
        when there is no such name; PermissionError when the OS refuses.
        """
        _check_name(name)
        try:
            os.unlink(_segment_path(name))
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f'SharedObject "{name}" does not exist') from None
        except PermissionError as error:
            raise _permission_error(name, error) from None

    @staticmethod
    def list() -> List[Dict[str, Any]]:
        """Every machine-scope slot this user can open, by name, as Node's ``SharedObject.list()``.

        Each entry: ``{"name", "scope": "machine", "bytes", "kind", "mtime"}``, where kind is
        ``"number"``, ``"object"``, ... or ``"Float32Array[480x848x3]"``. Other users' segments
        and files that are not complete keel slots are skipped.
        """
        try:
            files = sorted(os.listdir(_SEGMENT_DIRECTORY))
        except OSError:
            return []
        infos = []
        for file in files:
            if file.startswith(_SEGMENT_PREFIX) and len(file) > len(_SEGMENT_PREFIX):
                info = _read_info(file[len(_SEGMENT_PREFIX) :])
                if info is not None:
                    infos.append(info)
        return infos

    # --- the header ---

    def _read_descriptor(self) -> Dict[str, Any]:
        """Parses and checks the descriptor: another program wrote it."""
        size = len(self._memory)
        descriptor_bytes = self._words[_W_DESCRIPTOR_BYTES]
        damaged = ValueError(
            f'SharedObject "{self.name}": the segment holds a SharedObject header whose '
            "descriptor is damaged"
        )
        if self._words[_W_LOCK_KIND] != _LOCK_ROBUST_MUTEX:
            raise damaged
        if descriptor_bytes <= 0 or _HEADER_BYTES + descriptor_bytes > size:
            raise damaged
        try:
            text = self._memory[_HEADER_BYTES : _HEADER_BYTES + descriptor_bytes]
            descriptor = json.loads(text.decode("utf-8"))
            value_bytes = _check_layout(descriptor["layout"])
        except (ValueError, KeyError, TypeError, RecursionError):
            raise damaged from None
        self._copy_offset = _align(_HEADER_BYTES + descriptor_bytes, _COPY_ALIGN_BYTES)
        self._copy_stride = _align(max(value_bytes, 1), _COPY_ALIGN_BYTES)
        if (
            descriptor.get("valueBytes") != value_bytes
            or self._copy_offset + _COPY_COUNT * self._copy_stride > size
        ):
            raise damaged
        shape = descriptor.get("shape")
        if shape is not None and (
            not isinstance(shape, list)
            or not all(_is_count(n) for n in shape)
            or descriptor["layout"]["kind"] != "typed"
            or math.prod(shape) != descriptor["layout"]["length"]
        ):
            raise damaged
        return descriptor

    def _live(self) -> ctypes.Array:
        """The header words, held for one call (the mapping stays while they are); ValueError
        once closed."""
        return self._parts()[0]

    def _parts(self) -> Tuple[ctypes.Array, _Field, List[np.ndarray]]:
        """The header words, the bound value and the copies' bytes, held for one call."""
        try:
            if not self._closed:
                return self._words, self._field, self._copies
        except AttributeError:
            pass  # closed by another thread since the check
        raise ValueError(f'SharedObject "{self.name}": this handle is closed')

    def _add(self, index: int, delta: int) -> None:
        self._native.atomic_op(self._address + 4 * index, _FUTEX_OP_ADD, delta)

    def _set(self, index: int, value: int) -> None:
        self._native.atomic_op(self._address + 4 * index, _FUTEX_OP_SET, value)

    # --- reading ---

    @property
    def shape(self) -> Optional[Tuple[int, ...]]:
        """The shape of an array slot (``(length,)`` unless given at create); None otherwise."""
        self._live()
        return self._shape

    @property
    def dtype(self) -> Optional[np.dtype]:
        """The numpy dtype of an array or Buffer slot; None otherwise."""
        self._live()
        return _DTYPES[self._layout["dtype"]] if self._layout["kind"] == "typed" else None

    @property
    def kind(self) -> str:
        """What the slot holds, as Node's list() says it: ``"number"``, ``"Float32Array[4x4]"``..."""
        self._live()
        return _kind_text(self._layout, self._shape)

    @property
    def scope(self) -> str:
        """Always ``"machine"``: Python reaches only machine-scope slots."""
        return "machine"

    @property
    def closed(self) -> bool:
        """Whether close() was called on this handle."""
        return self._closed

    @property
    def modified(self) -> bool:
        """True when the slot was assigned or triggered since this handle last read it.

        Does not mark anything read. May be stale as soon as it returns.
        """
        return self._live()[_W_VERSION] != self._seen_version

    @property
    def triggered(self) -> bool:
        """Like ``modified``, and marks the change seen: true once per change."""
        version = self._live()[_W_VERSION]
        changed = version != self._seen_version
        self._seen_version = version
        return changed

    @property
    def mtime(self) -> int:
        """Nanoseconds of the last assign or trigger (or the creation), on CLOCK_MONOTONIC.

        The clock of Node's ``process.hrtime.bigint()`` and Python's ``time.monotonic_ns()``,
        one for every process of the machine: ``time.monotonic_ns() - so.mtime`` is the age of
        the value. Not wall-clock time.
        """
        self._live()
        return self._mtime.value

    def fetch(self) -> Any:
        """A consistent copy of the latest value, never torn; never blocks. Marks it read.

        An array slot gives a new numpy array of the slot's shape and dtype, a Buffer slot
        ``bytes``, a dict slot a new dict, a scalar or str slot the value.
        """
        words, field, _ = self._parts()
        return self._read_validated(words, field.read)

    def fetch_into(self, out: Any) -> Any:
        """Copies the latest value into `out`, memory the caller owns, and returns `out`.

        ``fetch()`` without the allocation, for a loop: an array slot takes a writable numpy
        array of its dtype and size (its shape, or flat), a Buffer or uint8 slot also a
        ``bytearray`` or writable ``memoryview``; a dict slot takes a dict of its layout (a
        ``fetch()`` result is one), filled in place: arrays copied into, other fields
        replaced. TypeError for a scalar, str or None slot (use fetch()) or a target of another
        layout; ValueError for another size or shape, a read-only array, an array over the
        slot's own memory, or two arrays sharing memory. Nothing is written on an error.
        """
        words, field, _ = self._parts()
        arrays: List[np.ndarray] = []
        try:
            field.check_target(out, "out", arrays)
        except TypeError as problem:
            raise TypeError(f'SharedObject "{self.name}": {problem}') from None
        except ValueError as problem:
            raise ValueError(f'SharedObject "{self.name}": {problem}') from None
        self._check_disjoint(arrays)
        return self._read_validated(words, lambda copy: field.read_into(copy, out))

    def _check_disjoint(self, arrays: List[np.ndarray]) -> None:
        slot = np.frombuffer(self._memory, np.uint8)
        for index, array in enumerate(arrays):
            if np.may_share_memory(array, slot):
                raise ValueError(
                    f'SharedObject "{self.name}": out views the slot\'s own memory; the copy '
                    "would not land intact"
                )
            for other in arrays[index + 1 :]:
                if np.may_share_memory(array, other):
                    raise ValueError(
                        f'SharedObject "{self.name}": two arrays of out share memory; the copy '
                        "would not land intact"
                    )

    def _read_validated(self, words: ctypes.Array, read: Callable[[int], Any]) -> Any:
        """The reader's protocol (docs/processes.md, "Reader"): pin, read, validate, unpin."""
        while True:
            version = words[_W_VERSION]
            copy = words[_W_LATEST]
            seq = self._pin(words, copy)
            if seq < 0:
                continue
            try:
                value = read(copy)
            finally:
                untouched = self._unpin(words, copy, seq)
            if untouched:
                self._seen_version = version
                return value

    def _pin(self, words: ctypes.Array, copy: int) -> int:
        """Pins `copy` and returns its even sequence, or -1 (pin released) if a writer has it."""
        # The kernel's locked add is the reader's half of the Dekker handshake with writers:
        # the claim loaded next cannot be read before the pin is visible.
        self._add(_W_PINS + copy, 1)
        claimed = words[_W_CLAIMS + copy] != 0
        seq = words[_W_SEQ + copy]
        if not claimed and seq & 1 == 0:
            return seq
        self._add(_W_PINS + copy, -1)
        return -1

    def _unpin(self, words: ctypes.Array, copy: int, seq: int) -> bool:
        """True when no writer changed `copy` since the pin; checked before the unpin."""
        if not _STRONG_ORDERING:
            self._add(_W_PINS + copy, 0)  # keeps the copy's loads above the check (arm64)
        untouched = words[_W_SEQ + copy] == seq
        self._add(_W_PINS + copy, -1)
        return untouched

    # --- writing ---

    def assign(self, value: Any) -> "SharedObject":
        """Replaces the value; returns self. Never blocks on readers for more than one copy.

        Same kind, dtype and size (an array of the slot's shape or a flat one), dict keys, and
        a str within capacity, else TypeError (another kind, dtype or keys) or ValueError
        (another size or shape, an int outside int64, a str over capacity), naming the path:
        nothing is written. May wait behind another writer for at most its copy; TimeoutError
        after ``2 s + size / 100 MB/s`` (only a writer stopped while holding the lock does that).
        This handle does not see its own assign as ``modified``.
        """
        words, field, copies = self._parts()
        try:
            prepared = field.prepare(value, "value")
        except TypeError as problem:
            raise TypeError(f'SharedObject "{self.name}": {problem}') from None
        except ValueError as problem:
            raise ValueError(f'SharedObject "{self.name}": {problem}') from None
        self._write(words, field, copies, prepared)
        return self

    def trigger(self) -> "SharedObject":
        """Moves mtime and the change counter without data: every handle sees it once."""
        words, _, copies = self._parts()
        self._lock(words, copies)
        try:
            self._announce(words)
        finally:
            self._unlock()
        return self

    def _write(
        self, words: ctypes.Array, field: _Field, copies: List[np.ndarray], prepared: Any
    ) -> None:
        """The writer's protocol (docs/processes.md, "Writer"), under the robust mutex."""
        self._lock(words, copies)
        try:
            copy = self._claim_copy(words)
            # Odd while the bytes change; a locked add, so the data stores below come after it.
            self._add(_W_SEQ + copy, 1)
            started = time.perf_counter()
            try:
                field.write(copy, prepared)
            except BaseException:
                # A reader that read `latest` long ago may still pin this copy: it must hold a
                # whole value before it turns even again.
                copies[copy][:] = copies[words[_W_LATEST]]
                raise
            finally:
                # Even again and unclaimed: the copy holds a whole value (readers may pin it).
                self._add(_W_SEQ + copy, 1)
                self._set(_W_CLAIMS + copy, 0)
            elapsed = time.perf_counter() - started
            # At most doubling per write: one preempted write does not make a writer wait long.
            self._copy_estimate_s = max(
                _MIN_COPY_ESTIMATE_S, min(elapsed, 2 * self._copy_estimate_s)
            )
            self._bump_mtime()
            words[_W_PUBLISHED + copy] = _int32(words[_W_VERSION] + 1)
            # Makes the new copy the one readers pin from now on.
            self._set(_W_LATEST, copy)
            self._seen_version = self._publish_version(words)
        finally:
            self._unlock()

    def _claim_copy(self, words: ctypes.Array) -> int:
        """The older spare copy no reader pins, claimed; forced after one copy's wait."""
        latest = words[_W_LATEST]
        first, second = (latest + 1) % _COPY_COUNT, (latest + 2) % _COPY_COUNT
        age = _int32(words[_W_PUBLISHED + first] - words[_W_PUBLISHED + second])
        older, newer = (first, second) if age <= 0 else (second, first)
        if self._try_claim(words, older):
            return older
        if self._try_claim(words, newer):
            return newer
        deadline = time.perf_counter() + self._copy_estimate_s
        while time.perf_counter() < deadline:
            if self._try_claim(words, older):
                return older
            if self._try_claim(words, newer):
                return newer
        # Forced: the readers pinning `older` see its sequence move and retry on the latest.
        self._set(_W_CLAIMS + older, 1)
        return older

    def _try_claim(self, words: ctypes.Array, copy: int) -> bool:
        """The writer's half of the Dekker handshake: raise the claim, then look at the pins."""
        if words[_W_PINS + copy] != 0:
            return False
        self._set(_W_CLAIMS + copy, 1)  # a locked exchange: the pins load cannot pass it
        if words[_W_PINS + copy] == 0:
            return True
        self._set(_W_CLAIMS + copy, 0)
        return False

    def _bump_mtime(self) -> None:
        """A strictly increasing mtime on CLOCK_MONOTONIC. Under the lock."""
        now = time.monotonic_ns()
        last = self._mtime.value
        self._mtime.value = now if now > last else last + 1

    def _publish_version(self, words: ctypes.Array) -> int:
        """Moves the change counter (a locked add: a full barrier) and wakes changed() waiters."""
        self._add(_W_VERSION, 1)
        version = words[_W_VERSION]  # only writers move it, and this one holds the lock
        # The waiter count is read after the counter moved: a waiter counts itself, then reads
        # the counter, so one of the two sees the other.
        if words[_W_WAITERS] > 0:
            self._native.futex_wake_all(self._address + 4 * _W_VERSION)
        return version

    def _announce(self, words: ctypes.Array) -> int:
        self._bump_mtime()
        return self._publish_version(words)

    def _lock(self, words: ctypes.Array, copies: List[np.ndarray]) -> None:
        """Takes the robust mutex; after a writer died holding it, repairs what it left."""
        if _lock_robust_mutex(self._native, self._address + _MUTEX_OFFSET_BYTES, self._lock_timeout_s):
            return
        try:
            self._repair(words, copies)
            self._announce(words)
        except BaseException:
            self._unlock()
            raise

    def _repair(self, words: ctypes.Array, copies: List[np.ndarray]) -> None:
        """slot-repair.ts: every copy whole and unclaimed again after a writer died."""
        latest = words[_W_LATEST]
        for copy in range(_COPY_COUNT):
            seq = words[_W_SEQ + copy]
            if seq & 1 and copy != latest:
                copies[copy][:] = copies[latest]
                self._add(_W_SEQ + copy, 1)  # even and new: a pre-crash reader fails validation
            self._set(_W_CLAIMS + copy, 0)

    def _unlock(self) -> None:
        result = self._native.mutex_unlock(self._address + _MUTEX_OFFSET_BYTES)
        if result != 0:
            raise OSError(result, f"pthread_mutex_unlock: {os.strerror(result)}")

    # --- waiting ---

    def changed(self, timeout: Optional[float] = None) -> bool:
        """Waits for the next assign or trigger after the call, by any handle in any process.

        True on a change, False after `timeout` seconds (None: no limit). Woken by the slot's
        futex, the one Node's writers wake (no polling). Does not mark anything read.
        ValueError when this handle is closed (also while waiting) or for a bad timeout.
        """
        words = self._live()
        deadline = self._deadline(timeout)
        start = words[_W_VERSION]
        # Counted before the counter is read again: see _publish_version.
        self._add(_W_WAITERS, 1)
        self._waiting += 1
        try:
            while words[_W_VERSION] == start:
                if self._closed:
                    raise ValueError(f'SharedObject "{self.name}": this handle is closed')
                remaining = _MAX_WAIT_SLICE_S if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._native.futex_wait(
                    self._address + 4 * _W_VERSION, start, min(remaining, _MAX_WAIT_SLICE_S)
                )
            return True
        finally:
            self._waiting -= 1
            self._add(_W_WAITERS, -1)

    @staticmethod
    def _deadline(timeout: Optional[float]) -> Optional[float]:
        if timeout is None:
            return None
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or math.isnan(timeout)
            or timeout < 0
        ):
            raise ValueError(f"timeout must be None or a number of seconds >= 0, got {timeout!r}")
        return None if math.isinf(timeout) else time.monotonic() + timeout

    # --- closing ---

    def close(self) -> None:
        """Closes this handle (idempotent). The slot and other handles, in any process, live on.

        A ``changed()`` waiting in another thread raises ValueError. The memory is unmapped
        once no call of this handle is running.
        """
        if self._closed:
            return
        self._closed = True
        if self._waiting > 0:
            # Wakes this handle's waiters (and, harmlessly, other waiters, who wait again).
            self._native.futex_wake_all(self._address + 4 * _W_VERSION)
        memory = self._memory
        del self._words, self._mtime, self._field, self._copies
        try:
            memory.close()
        except BufferError:
            pass  # a call in another thread still holds a view: unmapped when it lets go

    def __enter__(self) -> "SharedObject":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f'SharedObject "{self.name}" (closed)'
        return f'SharedObject "{self.name}" <{self.kind}> (machine)'


# --- helpers of the slot ---------------------------------------------------------------------


def _kind_text(layout: Layout, shape: Optional[Tuple[int, ...]]) -> str:
    if layout["kind"] != "typed":
        return layout["kind"]
    dims = shape if shape is not None else (layout["length"],)
    return f"{layout['dtype']}[{'x'.join(str(n) for n in dims)}]"


def _read_info(name: str) -> Optional[Dict[str, Any]]:
    try:
        fd = os.open(_segment_path(name), os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size < _HEADER_BYTES:
            return None
        memory = _map(fd, size)
        try:
            if struct.unpack_from("<i", memory, 0)[0] != _MAGIC:
                return None
            with SharedObject(name, memory) as slot:
                return {
                    "name": name,
                    "scope": "machine",
                    "bytes": size,
                    "kind": slot.kind,
                    "mtime": slot.mtime,
                }
        except (ValueError, OSError):
            memory.close()
            return None
    finally:
        os.close(fd)


def _init_robust_mutex(native: _Native, address: int) -> None:
    """A fresh process-shared robust mutex at `address` (memory nobody else uses yet)."""
    attributes = ctypes.create_string_buffer(64)  # pthread_mutexattr_t: 4 bytes on glibc
    native.attr_init(attributes)
    native.attr_setpshared(attributes, 1)  # PTHREAD_PROCESS_SHARED
    native.attr_setrobust(attributes, 1)  # PTHREAD_MUTEX_ROBUST
    result = native.mutex_init(address, attributes)
    if result != 0:
        raise OSError(result, f"pthread_mutex_init: {os.strerror(result)}")


def _lock_robust_mutex(native: _Native, address: int, timeout_s: float) -> bool:
    """True when locked; False when the previous holder died holding it (now consistent).

    TimeoutError after `timeout_s`: a holder that stopped without dying (SIGSTOP, a debugger).
    """
    if native.mutex_clocklock is not None:
        deadline_ns = time.monotonic_ns() + int(timeout_s * 1e9)
        spec = _Timespec(deadline_ns // 10**9, deadline_ns % 10**9)
        result = native.mutex_clocklock(address, _CLOCK_MONOTONIC, ctypes.byref(spec))
    else:
        deadline_ns = time.time_ns() + int(timeout_s * 1e9)
        spec = _Timespec(deadline_ns // 10**9, deadline_ns % 10**9)
        result = native.mutex_timedlock(address, ctypes.byref(spec))
    if result == 0:
        return True
    if result == errno.EOWNERDEAD:
        native.mutex_consistent(address)
        return False
    if result == errno.ETIMEDOUT:
        raise TimeoutError(
            errno.ETIMEDOUT,
            f"the write lock stayed taken for {round(timeout_s * 1000)} ms (another process "
            "holds it without progress)",
        )
    raise OSError(result, f"pthread_mutex_lock: {os.strerror(result)}")
