/**
 * A value layout (value-layouts.ts) bound to the three copies of one slot: each field builds its
 * views over shared memory once, so a fetch or assign does no offset arithmetic and allocates
 * only the result. Callers uphold the slot protocol (slot-engine.ts): `write` only on a copy the
 * writer owns, `read` / `view` / `readInto` only on a pinned copy. `read` never throws, even on
 * bytes a forced writer is overwriting, because such a result is discarded after validation;
 * `readInto` throws only what the caller's target throws (a setter).
 */
import { Buffer } from 'node:buffer';
import { kStringHeaderBytes, layoutBytes, type LayoutNode } from './value-layouts.js';
import {
  allocateUninitialized,
  copyElements,
  typedView,
  type TypedArray,
  type DTypeName,
} from './typed-arrays.js';

/** Moves one value between JS and one of a slot's copies. */
export interface BoundLayout {
  /** Writes a value that passed `findMismatch` into copy `copy`. Writer side, under the lock. */
  write(copy: number, value: unknown): void;
  /** A caller-owned copy of the value in copy `copy`. */
  read(copy: number): unknown;
  /** The value in copy `copy`, TypedArrays as views of the shared memory (no copy). */
  view(copy: number): unknown;
  /**
   * Copies the value in copy `copy` into `target`, a caller-owned value that fits the layout:
   * TypedArrays are copied into, objects filled in place. Returns what the parent must hold:
   * `target` itself, or the scalar or string read.
   */
  readInto(copy: number, target: unknown): unknown;
}

/** Binds `layout` at `offsetBytes` inside each copy that starts at `copyBases[i]`. */
export function bindLayout(
  layout: LayoutNode,
  buffer: SharedArrayBuffer,
  copyBases: readonly number[],
  offsetBytes = 0,
): BoundLayout {
  const at = copyBases.map((base) => base + offsetBytes);
  switch (layout.kind) {
    case 'null':
      return kNullField;
    case 'boolean':
      return new BooleanField(at.map((start) => new Uint8Array(buffer, start, 1)));
    case 'number':
      return new ScalarCellField(at.map((start) => new Float64Array(buffer, start, 1)));
    case 'bigint':
      return new ScalarCellField(at.map((start) => new BigInt64Array(buffer, start, 1)));
    case 'string':
      return new StringField(buffer, at, layout.capacityBytes);
    case 'typed':
      return new TypedField(buffer, at, layout.dtype, layout.length);
    case 'object':
      return bindObject(layout, buffer, copyBases, offsetBytes);
  }
}

const kNullField: BoundLayout = {
  write() {},
  read: () => null,
  view: () => null,
  readInto: () => null,
};

class BooleanField implements BoundLayout {
  constructor(readonly cells: readonly Uint8Array[]) {}
  write(copy: number, value: unknown): void {
    (this.cells[copy] as Uint8Array)[0] = value === true ? 1 : 0;
  }
  read(copy: number): boolean {
    return (this.cells[copy] as Uint8Array)[0] !== 0;
  }
  view(copy: number): boolean {
    return this.read(copy);
  }
  readInto(copy: number): boolean {
    return this.read(copy);
  }
}

/** A number in a Float64 cell, or a bigint in a BigInt64 cell: one element, read as is. */
class ScalarCellField implements BoundLayout {
  constructor(readonly cells: readonly (Float64Array | BigInt64Array)[]) {}
  write(copy: number, value: unknown): void {
    // The slot's layout matched the value's kind when it was assigned: a number meets a
    // Float64 cell, a bigint a BigInt64 cell.
    (this.cells[copy] as unknown as unknown[])[0] = value;
  }
  read(copy: number): number | bigint {
    return (this.cells[copy] as Float64Array | BigInt64Array)[0] as number | bigint;
  }
  view(copy: number): number | bigint {
    return this.read(copy);
  }
  readInto(copy: number): number | bigint {
    return this.read(copy);
  }
}

class StringField implements BoundLayout {
  readonly #lengths: Uint32Array[];
  readonly #bytes: Buffer[];
  readonly #capacityBytes: number;

  constructor(buffer: SharedArrayBuffer, at: readonly number[], capacityBytes: number) {
    this.#lengths = at.map((start) => new Uint32Array(buffer, start, 1));
    this.#bytes = at.map((start) => Buffer.from(buffer, start + kStringHeaderBytes, capacityBytes));
    this.#capacityBytes = capacityBytes;
  }
  write(copy: number, value: unknown): void {
    // Buffer#write encodes straight into shared memory; the capacity was checked before.
    const written = (this.#bytes[copy] as Buffer).write(value as string, 0, 'utf8');
    (this.#lengths[copy] as Uint32Array)[0] = written;
  }
  read(copy: number): string {
    // Clamped: a torn length must not throw (the result is discarded by validation).
    const length = Math.min((this.#lengths[copy] as Uint32Array)[0] as number, this.#capacityBytes);
    return (this.#bytes[copy] as Buffer).toString('utf8', 0, length);
  }
  view(copy: number): string {
    return this.read(copy);
  }
  readInto(copy: number): string {
    return this.read(copy);
  }
}

class TypedField implements BoundLayout {
  readonly #views: TypedArray[];
  readonly #dtype: DTypeName;
  readonly #length: number;

  constructor(buffer: SharedArrayBuffer, at: readonly number[], dtype: DTypeName, length: number) {
    this.#views = at.map((start) => typedView(dtype, buffer, start, length));
    this.#dtype = dtype;
    this.#length = length;
  }
  write(copy: number, value: unknown): void {
    // Same element type (checked), or Buffer and Uint8Array: both bytes.
    copyElements(this.#views[copy] as TypedArray, value as TypedArray);
  }
  read(copy: number): TypedArray {
    const result = allocateUninitialized(this.#dtype, this.#length);
    copyElements(result, this.#views[copy] as TypedArray);
    return result;
  }
  view(copy: number): TypedArray {
    return this.#views[copy] as TypedArray;
  }
  readInto(copy: number, target: unknown): TypedArray {
    // Same element type and length (checked), so one memcpy; no allocation.
    copyElements(target as TypedArray, this.#views[copy] as TypedArray);
    return target as TypedArray;
  }
}

function bindObject(
  layout: Extract<LayoutNode, { kind: 'object' }>,
  buffer: SharedArrayBuffer,
  copyBases: readonly number[],
  offsetBytes: number,
): BoundLayout {
  const fields: BoundLayout[] = [];
  let offset = offsetBytes;
  for (const child of layout.values) {
    fields.push(bindLayout(child, buffer, copyBases, offset));
    offset += layoutBytes(child);
  }
  return new ObjectField(layout.keys, fields);
}

class ObjectField implements BoundLayout {
  constructor(
    readonly keys: readonly string[],
    readonly fields: readonly BoundLayout[],
  ) {}
  write(copy: number, value: unknown): void {
    const record = value as Record<string, unknown>;
    for (let i = 0; i < this.keys.length; i++) {
      (this.fields[i] as BoundLayout).write(copy, record[this.keys[i] as string]);
    }
  }
  read(copy: number): Record<string, unknown> {
    return this.#build((field) => field.read(copy));
  }
  view(copy: number): Record<string, unknown> {
    return this.#build((field) => field.view(copy));
  }
  readInto(copy: number, target: unknown): Record<string, unknown> {
    const record = target as Record<string, unknown>;
    for (let i = 0; i < this.keys.length; i++) {
      const key = this.keys[i] as string;
      const held = record[key];
      const value = (this.fields[i] as BoundLayout).readInto(copy, held);
      // Arrays and objects were filled in place; scalars and strings are replaced. Object.is,
      // not ===: 0 and -0 differ, NaN is NaN. The key is an own property of the target (checked),
      // so this sets it even for a key named __proto__.
      if (!Object.is(value, held)) record[key] = value;
    }
    return record;
  }
  #build(valueOf: (field: BoundLayout) => unknown): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (let i = 0; i < this.keys.length; i++) {
      const key = this.keys[i] as string;
      const value = valueOf(this.fields[i] as BoundLayout);
      // A key named __proto__ must become an own property, not the prototype.
      if (key === '__proto__')
        Object.defineProperty(result, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else result[key] = value;
    }
    return result;
  }
}
