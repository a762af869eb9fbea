// The SPSC ring under the fast lane: framing, wrap-around, full and oversize frames, the
// validity of a peeked payload, and the single-thread behaviour of its waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  createRingBuffer,
  kFrameHeaderBytes,
  kRingHeaderBytes,
  kRingWords,
  maxMessageBytesFor,
  RingReader,
  RingWriter,
} from '../dist/transport/fast-lane/ring.js';

const kSeed = 0x6b65656c;

/** A payload whose every byte depends on its serial number and position. */
function patterned(byteLength: number, serial: number): Uint8Array {
  const bytes = new Uint8Array(byteLength);
  for (let i = 0; i < byteLength; i++) bytes[i] = (serial * 31 + i * 7 + 1) & 0xff;
  return bytes;
}

/** A ring whose byte counters start at `startIndex` (to cross 2^31 and 2^32 quickly). */
function ringAt(capacityBytes: number, startIndex: number) {
  const buffer = createRingBuffer(capacityBytes);
  const header = new Int32Array(buffer, 0, kRingHeaderBytes / 4);
  header[kRingWords.kWriteIndex] = startIndex | 0;
  header[kRingWords.kReadIndex] = startIndex | 0;
  return { buffer, header, writer: new RingWriter(buffer), reader: new RingReader(buffer) };
}

/** Bytes a frame of `payloadBytes` needs if written now (its skip to the start included). */
function neededBytes(header: Int32Array, capacityBytes: number, payloadBytes: number): number {
  const frameBytes = kFrameHeaderBytes + ((payloadBytes + 3) & ~3);
  const tailBytes = capacityBytes - ((header[kRingWords.kWriteIndex] ?? 0) & (capacityBytes - 1));
  return frameBytes <= tailBytes ? frameBytes : tailBytes + frameBytes;
}

function paddingIsUntouched(header: Int32Array): boolean {
  for (let word = 5; word < kRingHeaderBytes / 4; word++) {
    const consumerWord =
      word === kRingWords.kReadIndex ||
      word === kRingWords.kSleeping ||
      word === kRingWords.kOutOfBandTaken;
    if (!consumerWord && header[word] !== 0) return false;
  }
  return true;
}

test('frames of random sizes come out whole and in order, across many wrap-arounds and both counter overflows', () => {
  const operation = fc.record({ write: fc.boolean(), size: fc.nat(700) });
  fc.assert(
    fc.property(
      fc.constantFrom(64, 128, 256, 1024),
      fc.constantFrom(0, 2 ** 31 - 40, 2 ** 32 - 40),
      fc.array(operation, { maxLength: 300 }),
      (capacityBytes, startIndex, operations) => {
        const { header, writer, reader } = ringAt(capacityBytes, startIndex);
        const queue: Uint8Array[] = [];
        let serial = 0;
        for (const { write, size } of operations) {
          if (write) {
            const payload = patterned(size % (writer.maxMessageBytes + 1), serial++);
            const usedBytes =
              ((header[kRingWords.kWriteIndex] ?? 0) - (header[kRingWords.kReadIndex] ?? 0)) | 0;
            const fits =
              usedBytes + neededBytes(header, capacityBytes, payload.length) <= capacityBytes;
            assert.equal(
              writer.tryWrite(payload),
              fits,
              'tryWrite refuses exactly the frames that do not fit',
            );
            if (fits) queue.push(payload);
          } else {
            assert.deepEqual(reader.tryRead(), queue.shift());
          }
        }
        while (queue.length > 0) assert.deepEqual(reader.tryRead(), queue.shift());
        assert.equal(reader.tryRead(), undefined);
        assert.ok(
          writer.tryWrite(patterned(writer.maxMessageBytes, 0)),
          'a drained ring takes the largest message',
        );
        assert.ok(paddingIsUntouched(header), 'header padding (canary) untouched');
      },
    ),
    { seed: kSeed, numRuns: 400 },
  );
});

test('a ring that is full refuses a frame, and takes it again once the consumer releases one', () => {
  const buffer = createRingBuffer(256);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  const payload = patterned(12, 1); // a 16-byte frame: exactly 16 fit
  for (let i = 0; i < 16; i++) assert.ok(writer.tryWrite(payload), `frame ${i} fits`);
  assert.equal(writer.tryWrite(payload), false);
  assert.equal(writer.tryWrite(new Uint8Array(0)), false, 'not even an empty frame fits');
  assert.deepEqual(reader.tryRead(), payload);
  assert.ok(writer.tryWrite(payload));
  assert.equal(writer.tryWrite(payload), false);
});

test('a message over maxMessageBytes is refused even by an empty ring, one of maxMessageBytes fits at every position', () => {
  const capacityBytes = 256;
  assert.equal(maxMessageBytesFor(capacityBytes), capacityBytes / 2 - kFrameHeaderBytes);
  for (let position = 0; position < capacityBytes; position += 4) {
    const { writer, reader } = ringAt(capacityBytes, position);
    assert.equal(writer.maxMessageBytes, 124);
    assert.equal(writer.tryWrite(new Uint8Array(writer.maxMessageBytes + 1)), false);
    const largest = patterned(writer.maxMessageBytes, position);
    assert.ok(writer.tryWrite(largest), `fits at position ${position}`);
    assert.deepEqual(reader.tryRead(), largest);
  }
});

test('tryWrite sends only the first byteLength bytes when given a length', () => {
  const buffer = createRingBuffer(256);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  assert.ok(writer.tryWrite(patterned(40, 3), 5));
  assert.deepEqual(reader.tryRead(), patterned(40, 3).subarray(0, 5));
  assert.equal(writer.tryWrite(patterned(4, 3), 5), false, 'a length past the source is refused');
});

test('a peeked payload stays unchanged until release, even while the producer fills the ring', () => {
  const buffer = createRingBuffer(64);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  const first = patterned(20, 9);
  assert.ok(writer.tryWrite(first));
  const length = reader.peek();
  assert.equal(length, 20);
  assert.equal(reader.peek(), 20, 'peeking twice returns the same frame');
  const view = new Uint8Array(buffer, reader.payloadOffset, length);
  let written = 0;
  while (written < 100 && writer.tryWrite(patterned(4, 0xee))) written++;
  assert.ok(written < 100, 'the ring fills up');
  assert.deepEqual(view, first);
  reader.release();
  assert.ok(writer.tryWrite(patterned(20, 1)), 'released space is writable again');
});

test('tryRead returns a copy the caller owns, not a view of the ring', () => {
  const buffer = createRingBuffer(64);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  writer.tryWrite(patterned(8, 1));
  const copy = reader.tryRead();
  assert.ok(copy !== undefined && copy.buffer instanceof ArrayBuffer);
  assert.equal(copy.buffer.byteLength, 8);
});

test('the waits report readiness on a single thread: timeout when empty, at once when data, an out-of-band message or a close is there', async () => {
  const buffer = createRingBuffer(64);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  assert.equal(reader.spinFor(20), false);
  assert.equal(reader.waitSync(5), false);
  assert.equal(await reader.waitAsync(5), false);
  writer.tryWrite(patterned(3, 0));
  assert.equal(reader.spinFor(0), true);
  assert.equal(reader.waitSync(60_000), true);
  assert.equal(await reader.waitAsync(60_000), true);
  reader.tryRead();
  writer.announceOutOfBand();
  assert.equal(reader.outOfBandPending(), 1);
  assert.equal(reader.waitSync(60_000), true);
  reader.takeOutOfBand();
  assert.equal(reader.ready(), false);
  writer.close();
  assert.equal(reader.closed, true);
  assert.equal(await reader.waitAsync(60_000), true);
});

test('out-of-band messages announced before the reader exists are still pending for it', () => {
  const buffer = createRingBuffer(64);
  const writer = new RingWriter(buffer);
  writer.announceOutOfBand();
  writer.announceOutOfBand();
  const reader = new RingReader(buffer);
  assert.equal(reader.outOfBandPending(), 2);
  reader.takeOutOfBand();
  assert.equal(new RingReader(buffer).outOfBandPending(), 1, 'a later reader resumes the count');
});

test('rings validate their capacity and refuse buffers they did not make', () => {
  for (const capacityBytes of [100, 32, 0, -64, 2 ** 31, 1.5]) {
    assert.throws(() => createRingBuffer(capacityBytes), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /capacityBytes/,
    });
  }
  assert.throws(() => new RingWriter(new SharedArrayBuffer(1024)), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.throws(() => new RingReader(new ArrayBuffer(1024) as unknown as SharedArrayBuffer), {
    code: 'ERR_INVALID_ARGUMENT',
  });
});
