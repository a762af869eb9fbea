import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { kNeedsNative } from './helpers.ts';
import { kNeedsPython } from './python-helpers.ts';
import { kNeedsRedis } from './queue-helpers.ts';

// Every program in examples/ runs as a user would run it (`node examples/<name>.mjs`, importing
// the built package as `keel`), ends by itself within its time limit, exits 0, and prints its
// result line. A dangling handle (a worker, a timer, a pending wait) shows up here as a timeout.

const kExamples = fileURLToPath(new URL('../examples/', import.meta.url));
const kTimeoutMs = 30_000;

/** The line each example prints, as a pattern: figures vary, the shape does not. */
const kExpected: Record<string, RegExp> = {
  'pool.mjs':
    /^pool: fibonacci\(25\.\.28\) = 75025, 121393, 196418, 317811 in \d+ ms on 2 threads; a 500 ms call with timeoutMs 20: ERR_TIMEOUT; checksum 124716 on a worker, 124716 here$/m,
  'realtime-policy.mjs':
    /^loop: \d+ ticks, \d+ missed, lateness p99 \d+ µs; policy: (\d+) answers of \1 calls, [\d.]+ ms each, \d+ slots skipped; event-loop delay p99 [\d.]+ ms$/m,
  'realtime-scheduling.mjs':
    /^realtime loop: (fifo 80|other \(realtime refused by the OS, see docs\/realtime\.md\)) on CPU \d+; \d+ ticks, \d+ missed, lateness p99 \d+ µs beside \d+ busy pool threads \(idle\)$/m,
  'camera-frames.mjs':
    /^camera: 120 frames of 1\.2 MB in [\d.]+ s, in order, 0 copied instead of shared, arena high-water [\d.]+ MiB \(mean sample \d+\)$/m,
  'shared-object.mjs':
    /^shared object: 200 states written by the sensor thread, \d+ read here, 0 torn; a pool thread saw spread 0 in the latest state$/m,
  'pipeline.mjs':
    /^pipeline: 300 images in 6 batches, in source order; blur ran 300 times on the pool, [\d.]+ ms a call, 0 failures$/m,
  'camera-controller.mjs':
    /^controller: saw \d+ of 60 frames of 1\.2 MB from the camera process by name, 0 torn, mean wake-up [\d.]+ ms after the assign$/m,
  'python-camera.mjs':
    /^python camera: saw \d+ of 60 frames of 1\.2 MB from the Python process by name, 0 torn, mean wake-up [\d.]+ ms after the assign; python3 exited with 0$/m,
  'data-loader.mjs':
    /^data loader: 3 epochs, 96 batches of 64 loaded and collated by 2 workers; loss 0\.693 on the first batch, 0\.\d+ over the last epoch; weights [\d.]+, [\d.]+$/m,
  'queue-pipeline.mjs':
    /^queue: 40 images through a pipeline stage on a QueuePool, in source order, thumbnails of 256 bytes; run by 2 keel worker processes \(\d+ \+ \d+ jobs\); drained by SIGTERM, exit codes 0, 0$/m,
  'decode-batches.mjs':
    /^decode: 64 JPEG files in 2 batches of \[32, 3, 112, 112\] finite float32, decoded by 2 workers in \d+ ms; event-loop delay p99 [\d.]+ ms$/m,
};

function runExample(name: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [`${kExamples}${name}`], {
    cwd: kExamples,
    encoding: 'utf8',
    timeout: kTimeoutMs,
    killSignal: 'SIGKILL',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('every example in examples/ has an expected line here', () => {
  const examples = readdirSync(kExamples).filter((file) => file.endsWith('.mjs'));
  assert.deepEqual(examples.sort(), Object.keys(kExpected).sort());
});

/** Examples that need keel's native layer: skipped, with the reason, when it is not loaded. */
const kNativeExamples = new Set(['camera-controller.mjs', 'realtime-scheduling.mjs']);

for (const [name, expected] of Object.entries(kExpected)) {
  const options =
    name === 'python-camera.mjs'
      ? kNeedsPython
      : name === 'queue-pipeline.mjs'
        ? kNeedsRedis
        : kNativeExamples.has(name)
          ? kNeedsNative
          : {};
  test(
    `examples/${name} runs to completion by itself, exits 0 and prints its result`,
    options,
    () => {
      const { status, stdout, stderr } = runExample(name);
      assert.equal(
        status,
        0,
        `exit status ${status} (null: killed after ${kTimeoutMs} ms)\n${stderr}`,
      );
      assert.match(stdout, expected, `stdout:\n${stdout}\nstderr:\n${stderr}`);
    },
  );
}
