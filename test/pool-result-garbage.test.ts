// A pool function that returns a fresh large buffer per call, copied into the pool's arena,
// leaves that buffer as garbage in its worker. keel keeps the worker's next allocations from
// page-faulting their memory in again (docs/pool.md, "Performance: user code that allocates";
// worker/boot-context.ts): the worker's page faults per call stay far below a frame's pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, Pool, release } from 'keel';
import { fixture } from './helpers.ts';

type Frames = typeof import('./fixtures/fresh-frames.mjs');
const framesUrl = fixture('fresh-frames.mjs');
const kFrameBytes = 480 * 848 * 3;
const kPagesPerFrame = kFrameBytes / 4096; // ~300
const kCalls = 400; // V8 frees such buffers ~26 at a time: many batches

// The effect is glibc's (its heap returns a freed top to the OS) and the count is Linux's.
const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
  ?.glibcVersionRuntime;
const kSkip =
  process.platform === 'linux' && glibc !== undefined ? {} : { skip: 'Linux with glibc only' };

test(
  'fresh frames copied into the arena: the worker does not fault their memory in again on every call',
  kSkip,
  async () => {
    const arena = new Arena({ bytes: 32 * 2 ** 20 });
    try {
      await using pool = new Pool({ maxThreads: 1, arena });
      const frames = pool.module<Frames>(framesUrl);
      for (let seq = 0; seq < 100; seq++) release(await frames.freshFrame(kFrameBytes, seq));
      const before = await frames.threadMinorFaults();
      for (let seq = 0; seq < kCalls; seq++) {
        const frame = await frames.freshFrame(kFrameBytes, seq);
        assert.equal(frame[kFrameBytes - 1], seq & 0xff);
        release(frame);
      }
      const perCall = ((await frames.threadMinorFaults()) - before) / kCalls;
      // Measured: 2-13 per call; without keel's measure 100-300 (most frames faulted in whole).
      assert.ok(
        perCall < kPagesPerFrame / 6,
        `the worker faulted ${perCall.toFixed(1)} pages per call (a frame has ${kPagesPerFrame})`,
      );
      assert.equal(arena.stats().fallbacks, 0, 'every frame went through the arena');
    } finally {
      arena.close();
    }
  },
);
