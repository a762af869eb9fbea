/**
 * How a value becomes the bytes of one ring frame, and back.
 *
 * Two encodings share a frame, told apart by the first byte:
 * - 0xFF: the V8 serialisation format (Node's `v8.serialize`, whose output always starts with
 *   the version tag 0xFF). It handles everything structured cloning handles, except what must
 *   stay shared (a SharedArrayBuffer or a view of one, two views of one buffer) and
 *   transferables: `encode` refuses those and the lane routes them over its MessagePort.
 * - 1..9 (kTagUndefined..kTagView): a compact encoding of "simple" values, 4-15x cheaper than
 *   V8's for the small messages of a call (bench/fast-lane-raw.mjs measures both): undefined,
 *   null, booleans, numbers, well-formed strings, and plain arrays / plain objects of those,
 *   nested a few levels. Anything else, or anything large, takes the V8 path.
 *   keel's own wire arrays (values/wire-array.ts: an arena value's numbers and keys) take the
 *   compact path at any length, without a user array's checks.
 *
 *   simple value := tag byte, then  kTagUndefined, kTagNull, kTagFalse, kTagTrue: nothing
 *                   | kTagNumber: float64 LE | kTagString: u32 byteLength, UTF-8
 *                   | kTagArray: u32 count, values | kTagObject: u32 count, (u32 keyBytes, key, value)*
 *                   | kTagView: u8 view code, u32 byteLength, bytes (a TypedArray, DataView or
 *                     Buffer of at most 8 KiB of plain memory: a robot's joint state, an
 *                     observation vector, the common argument of a control loop's calls,
 *                     which V8's serializer would make several times dearer)
 *
 * Both keep structured-clone results: -0 and NaN survive, lone surrogates and shared
 * references (the same object twice) fall back to V8, which preserves them, and typed arrays
 * arrive owning an exact-size ArrayBuffer (never a view of the ring).
 */

import { DefaultDeserializer, DefaultSerializer } from 'node:v8';
import { types } from 'node:util';
import { kTypedArrayConstructors } from '../../values/typed-array.js';
import { isWireArray } from '../../values/wire-array.js';

const kTagUndefined = 1;
const kTagNull = 2;
const kTagFalse = 3;
const kTagTrue = 4;
const kTagNumber = 5;
const kTagString = 6;
const kTagArray = 7;
const kTagObject = 8;
const kTagView = 9;
/** First byte of every `v8.serialize` output (ValueSerializer's version tag). */
const kTagV8 = 0xff;

/** Scratch space for the compact encoding; larger values take the V8 path. */
const kScratchBytes = 16 * 1024;
/** Strings up to this many units try the unit-by-unit ASCII copy first. */
const kShortStringLength = 32;
/** Compact arrays are short: checking them for extra properties costs O(length). */
const kMaxCompactArrayLength = 16;
const kMaxCompactKeys = 32;
const kMaxCompactDepth = 4;
/** Containers tracked to detect shared references (which only V8 preserves). */
const kMaxCompactContainers = 16;
/** Binary views up to this size take the compact path (a joint state, an observation vector). */
const kMaxCompactViewBytes = 8 * 1024;

type ViewConstructor = new (
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
) => ArrayBufferView;

/**
 * The views the compact path carries, by code: exact prototypes only (a subclass takes the V8
 * path, which gives back its nearest built-in). Float16Array is left out: Node 20 lacks it.
 */
const kViewConstructors: readonly ViewConstructor[] = [
  ...Object.values(kTypedArrayConstructors),
  DataView,
  Buffer,
] as readonly ViewConstructor[];
const kBufferCode = kViewConstructors.length - 1;
const kViewCodes = new Map<object, number>(
  kViewConstructors.map((constructor, code) => [constructor.prototype as object, code]),
);

/** `String.prototype.isWellFormed` (V8 11.1+, so Node 20; typed in lib ES2024, not loaded). */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Short ASCII strings (keys, method names) are copied unit by unit: ~4x faster than
 * `Buffer#write` / `Buffer#toString`, whose fixed cost (~150-250 ns) dominates at this size.
 * Returns the byte count, or -1 (nothing usable written) when a unit is not ASCII.
 */
function writeAscii(text: string, bytes: Uint8Array, start: number): number {
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit >= 0x80) return -1;
    bytes[start + index] = unit;
  }
  return text.length;
}

/** Slots of the decoder's cache of short ASCII strings (a power of two). */
const kInternSlots = 256;

/**
 * The short ASCII strings a decoder met last (keys, message types, method names), one per slot
 * of a direct-mapped table keyed by a hash of their bytes. The same few strings arrive in every
 * message; reading one from the table costs a hash and a compare, where building it allocates
 * a string per character.
 */
class AsciiInterner {
  readonly #slots: (string | undefined)[] = new Array<string | undefined>(kInternSlots).fill(
    undefined,
  );

  /** The ASCII string at `bytes[start, start + byteLength)`, or undefined if a byte is not ASCII. */
  read(bytes: Uint8Array, start: number, byteLength: number): string | undefined {
    const end = start + byteLength;
    let hash = byteLength;
    for (let index = start; index < end; index++) {
      const unit = bytes[index] ?? 0x80;
      if (unit >= 0x80) return undefined;
      hash = (Math.imul(hash, 31) + unit) | 0;
    }
    const slot = hash & (kInternSlots - 1);
    const cached = this.#slots[slot];
    if (cached !== undefined && sameAscii(cached, bytes, start, byteLength)) return cached;
    let text = '';
    for (let index = start; index < end; index++) text += String.fromCharCode(bytes[index] ?? 0);
    this.#slots[slot] = text;
    return text;
  }
}

function sameAscii(text: string, bytes: Uint8Array, start: number, byteLength: number): boolean {
  if (text.length !== byteLength) return false;
  for (let index = 0; index < byteLength; index++) {
    if (text.charCodeAt(index) !== bytes[start + index]) return false;
  }
  return true;
}

/** Which encoding a value took; exposed for tests and statistics. */
export type EncodingKind = 'compact' | 'v8';

/**
 * Turns values into frame bytes. Owned by one thread; reuses one scratch buffer, so the bytes
 * of one `encode` are valid only until the next.
 */
export class MessageEncoder {
  readonly #scratch = new Uint8Array(kScratchBytes);
  readonly #view = new DataView(this.#scratch.buffer);
  readonly #text = Buffer.from(this.#scratch.buffer);
  readonly #containers: object[] = [];
  /** The buffers of the views written so far: two views of one buffer take the V8 path. */
  readonly #viewBuffers: ArrayBufferLike[] = [];
  #length = 0;
  #bytes: Uint8Array = this.#scratch;
  #kind: EncodingKind = 'compact';

  /**
   * Encodes `value`; returns its byte length. The bytes are `encodedBytes[0, length)`.
   * Throws V8's error ('... could not be cloned.') for values V8 cannot serialise (functions,
   * symbols, proxies, SharedArrayBuffers, ports), and a `RangeError` for values it would
   * serialise only by breaking their sharing (a view of a SharedArrayBuffer, two views of one
   * buffer): the caller decides whether another path (postMessage) can carry them.
   */
  encode(value: unknown): number {
    this.#length = 0;
    this.#containers.length = 0;
    this.#viewBuffers.length = 0;
    if (this.#writeValue(value, 0)) {
      this.#bytes = this.#scratch;
      this.#kind = 'compact';
      return this.#length;
    }
    const serializer = new SharingAwareSerializer();
    serializer.writeHeader();
    serializer.writeValue(value);
    this.#bytes = serializer.releaseBuffer();
    this.#kind = 'v8';
    return this.#bytes.length;
  }

  /** The bytes of the last `encode` (this encoder's scratch buffer, or V8's output). */
  get encodedBytes(): Uint8Array {
    return this.#bytes;
  }

  /** The encoding the last `encode` used. */
  get lastKind(): EncodingKind {
    return this.#kind;
  }

  /** Writes `value` compactly at #length; false when it is not simple (nothing usable written). */
  #writeValue(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case 'number':
        if (!this.#reserve(9)) return false;
        this.#scratch[this.#length] = kTagNumber;
        this.#view.setFloat64(this.#length + 1, value, true);
        this.#length += 9;
        return true;
      case 'string':
        return this.#writeString(value, kTagString);
      case 'boolean':
        return this.#writeTag(value ? kTagTrue : kTagFalse);
      case 'undefined':
        return this.#writeTag(kTagUndefined);
      case 'object':
        if (value === null) return this.#writeTag(kTagNull);
        if (depth >= kMaxCompactDepth) return false;
        if (Array.isArray(value) && isWireArray(value)) return this.#writeWireArray(value, depth);
        if (!this.#trackContainer(value)) return false;
        return Array.isArray(value)
          ? this.#writeArray(value, depth)
          : this.#writeObject(value, depth);
      default:
        return false; // bigint, symbol, function
    }
  }

  #writeTag(tag: number): boolean {
    if (!this.#reserve(1)) return false;
    this.#scratch[this.#length++] = tag;
    return true;
  }

  /** Writes [tag][u32 byteLength][UTF-8]; `tag` 0 writes no tag (object keys). */
  #writeString(text: string, tag: number): boolean {
    // Room: 3 bytes per UTF-16 unit at most, and 5 for the tag and length.
    if (!this.#reserve(5 + 3 * text.length)) return false;
    const start = this.#length + (tag === 0 ? 4 : 5);
    let byteLength =
      text.length <= kShortStringLength ? writeAscii(text, this.#scratch, start) : -1;
    if (byteLength < 0) {
      if (!isWellFormed(text)) return false; // UTF-8 would replace a lone surrogate; V8 keeps it
      byteLength = this.#text.write(text, start, 'utf8');
    }
    if (tag !== 0) this.#scratch[this.#length++] = tag;
    this.#view.setUint32(this.#length, byteLength, true);
    this.#length += 4 + byteLength;
    return true;
  }

  /** Shared references and proxies must take the V8 path (which keeps or rejects them). */
  #trackContainer(value: object): boolean {
    const containers = this.#containers;
    if (containers.length >= kMaxCompactContainers || containers.includes(value)) return false;
    if (types.isProxy(value)) return false;
    containers.push(value);
    return true;
  }

  #writeArray(array: unknown[], depth: number): boolean {
    const count = array.length;
    const plain = Object.getPrototypeOf(array) === Array.prototype; // not a subclass
    if (count > kMaxCompactArrayLength || !plain) return false;
    // Holes and extra named properties survive cloning; here they fall back to V8.
    if (Object.keys(array).length !== count || !this.#reserve(5)) return false;
    this.#scratch[this.#length] = kTagArray;
    this.#view.setUint32(this.#length + 1, count, true);
    this.#length += 5;
    for (let index = 0; index < count; index++) {
      if (!(index in array) || !this.#writeValue(array[index], depth + 1)) return false;
    }
    return true;
  }

  /** keel's own arrays (values/wire-array.ts): packed, plain, not shared, so no checks. */
  #writeWireArray(array: readonly unknown[], depth: number): boolean {
    const count = array.length;
    if (!this.#reserve(5)) return false;
    this.#scratch[this.#length] = kTagArray;
    this.#view.setUint32(this.#length + 1, count, true);
    this.#length += 5;
    for (let index = 0; index < count; index++) {
      if (!this.#writeValue(array[index], depth + 1)) return false;
    }
    return true;
  }

  /**
   * [kTagView][u8 code][u32 byteLength][bytes]: a small TypedArray, DataView or Buffer of
   * plain memory. It arrives over an exact-size buffer of its own, as from the V8 path; a view
   * of shared memory, or a second view of a buffer already written, is left to V8 (which keeps
   * or refuses the sharing).
   */
  #writeView(view: ArrayBufferView): boolean {
    const code = kViewCodes.get(Object.getPrototypeOf(view) as object);
    const { buffer, byteOffset, byteLength } = view;
    if (
      code === undefined ||
      byteLength > kMaxCompactViewBytes ||
      buffer instanceof SharedArrayBuffer ||
      this.#viewBuffers.includes(buffer) ||
      !this.#reserve(6 + byteLength)
    ) {
      return false;
    }
    this.#viewBuffers.push(buffer);
    const at = this.#length;
    this.#scratch[at] = kTagView;
    this.#scratch[at + 1] = code;
    this.#view.setUint32(at + 2, byteLength, true);
    this.#scratch.set(new Uint8Array(buffer, byteOffset, byteLength), at + 6);
    this.#length = at + 6 + byteLength;
    return true;
  }

  #writeObject(object: object, depth: number): boolean {
    const prototype: unknown = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      // A small binary view, or something only V8 carries (Date, Map, class instances...).
      return ArrayBuffer.isView(object) ? this.#writeView(object) : false;
    }
    const keys = Object.keys(object);
    if (keys.length > kMaxCompactKeys || !this.#reserve(5)) return false;
    this.#scratch[this.#length] = kTagObject;
    this.#view.setUint32(this.#length + 1, keys.length, true);
    this.#length += 5;
    for (const key of keys) {
      // '__proto__' as an own key would become the prototype on decode by assignment.
      if (key === '__proto__' || !this.#writeString(key, 0)) return false;
      // A getter runs here; if the compact path then gives up, V8 runs it once more.
      if (!this.#writeValue((object as Record<string, unknown>)[key], depth + 1)) return false;
    }
    return true;
  }

  #reserve(byteCount: number): boolean {
    return this.#length + byteCount <= kScratchBytes;
  }
}

/**
 * Reads values out of frames of one SharedArrayBuffer, in place (no copy of the frame).
 * Owned by the thread that consumes the ring. Allocates only the values it returns.
 */
export class MessageDecoder {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #text: Buffer;
  readonly #ascii = new AsciiInterner();
  #position = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.#text = Buffer.from(buffer);
  }

  /** Decodes the frame payload at `[offset, offset + byteLength)` of the shared buffer. */
  decode(offset: number, byteLength: number): unknown {
    if (this.#bytes[offset] === kTagV8) {
      const deserializer = new OwningDeserializer(this.#text.subarray(offset, offset + byteLength));
      deserializer.readHeader();
      return deserializer.readValue();
    }
    this.#position = offset;
    return this.#readValue();
  }

  #readValue(): unknown {
    const tag = this.#bytes[this.#position++];
    switch (tag) {
      case kTagNumber:
        this.#position += 8;
        return this.#view.getFloat64(this.#position - 8, true);
      case kTagString:
        return this.#readString();
      case kTagUndefined:
        return undefined;
      case kTagNull:
        return null;
      case kTagFalse:
        return false;
      case kTagTrue:
        return true;
      case kTagArray:
        return this.#readArray();
      case kTagObject:
        return this.#readObject();
      case kTagView:
        return this.#readView();
      default:
        throw new Error(`fast-lane codec: unknown tag ${tag} at byte ${this.#position - 1}`);
    }
  }

  #readString(): string {
    const byteLength = this.#view.getUint32(this.#position, true);
    const start = this.#position + 4;
    this.#position = start + byteLength;
    const ascii =
      byteLength <= kShortStringLength
        ? this.#ascii.read(this.#bytes, start, byteLength)
        : undefined;
    return ascii ?? this.#text.toString('utf8', start, start + byteLength);
  }

  #readArray(): unknown[] {
    const count = this.#view.getUint32(this.#position, true);
    this.#position += 4;
    // Sized up front: growing by push() allocates room for 17 elements at the first one, and
    // most arrays here hold a handful (a flat arena envelope carries seven).
    const array = new Array<unknown>(count);
    for (let index = 0; index < count; index++) array[index] = this.#readValue();
    return array;
  }

  /** A copy of the view's bytes over a buffer of its own: the ring is reused after release. */
  #readView(): ArrayBufferView {
    const code = this.#bytes[this.#position] ?? -1;
    const byteLength = this.#view.getUint32(this.#position + 1, true);
    const start = this.#position + 5;
    this.#position = start + byteLength;
    const Constructor = kViewConstructors[code];
    if (Constructor === undefined) throw new Error(`fast-lane codec: unknown view code ${code}`);
    const owned = new ArrayBuffer(byteLength);
    new Uint8Array(owned).set(this.#bytes.subarray(start, start + byteLength));
    if (code === kBufferCode) return Buffer.from(owned);
    const elementBytes =
      (Constructor as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
    return new Constructor(owned, 0, byteLength / elementBytes);
  }

  #readObject(): Record<string, unknown> {
    const count = this.#view.getUint32(this.#position, true);
    this.#position += 4;
    const object: Record<string, unknown> = {};
    for (let index = 0; index < count; index++) {
      const key = this.#readString();
      object[key] = this.#readValue();
    }
    return object;
  }
}

type BinaryView = NodeJS.TypedArray | DataView;

/** Node's documented hooks (`serializer._writeHostObject()`...), missing from @types/node. */
const baseWriteHostObject = (
  DefaultSerializer.prototype as unknown as {
    _writeHostObject: (this: DefaultSerializer, view: BinaryView) => void;
  }
)._writeHostObject;

/**
 * Node's serializer copies each typed array or DataView on its own. Structured cloning instead
 * keeps a view of a SharedArrayBuffer shared and two views of one buffer on one buffer; such
 * values are refused here, so that the lane sends them with postMessage, which keeps both.
 * (What remains different: a view arrives over an exact-size buffer of its own, not over a copy
 * of its whole original buffer.)
 */
class SharingAwareSerializer extends DefaultSerializer {
  #buffers: Set<ArrayBufferLike> | undefined;

  _writeHostObject(view: BinaryView): void {
    const buffer = view.buffer;
    this.#buffers ??= new Set();
    if (buffer instanceof SharedArrayBuffer || this.#buffers.has(buffer)) {
      throw new RangeError('fast lane: a shared or aliased buffer goes over the port');
    }
    this.#buffers.add(buffer);
    baseWriteHostObject.call(this, view);
  }
}

const baseReadHostObject = (
  DefaultDeserializer.prototype as unknown as {
    _readHostObject: (this: DefaultDeserializer) => BinaryView;
  }
)._readHostObject;

/**
 * Node's deserializer returns typed arrays as views of its input when aligned; here the input
 * is the ring, which the producer reuses after release, so every binary leaf is copied into an
 * exact-size ArrayBuffer of its own (as structured cloning gives a buffer of its own).
 */
class OwningDeserializer extends DefaultDeserializer {
  _readHostObject(): BinaryView {
    const view = baseReadHostObject.call(this);
    const owned = new ArrayBuffer(view.byteLength);
    new Uint8Array(owned).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    if (Buffer.isBuffer(view)) return Buffer.from(owned);
    const Constructor = view.constructor as new (buffer: ArrayBuffer) => BinaryView;
    return new Constructor(owned);
  }
}
