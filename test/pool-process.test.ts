// Pool({ kind: 'process' }): every behaviour of a thread pool (SPEC §2), with each worker a child
// process. Children cannot share memory with the test, so a task says "I started" by writing
// its pid to a file in a temp dir of the test (fixtures/pool-process.mjs).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Arena, KeelError, Pool, asyncify, release } from 'keel';
import {
  fixture,
  rejectionOf,
  runScript,
  eventually,
  isAlive,
  kNeedsNative,
  childPidWrittenTo,
} from './helpers.ts';

const math = fixture('math.mjs');
const failing = fixture('failing.mjs');
const children = fixture('pool-process.mjs');
/** How long a process test waits for a child to start or end: a loaded CI machine is slow. */
const kWaitMs = 20_000;
const kTest = { timeout: 60_000 };

const tempDir = mkdtempSync(join(tmpdir(), 'keel-pool-process-'));
after(() => {
  rmSync(tempDir, { recursive: true, force: true });
});
let marks = 0;

/** A fresh path in the temp dir for a task to write its pid to. */
function markFile(): string {
  return join(tempDir, `mark-${marks++}`);
}

interface Where {
  pid: number;
  isMainThread: boolean;
  connected: boolean;
}

test(
  'each task runs in a child process, and values cross with structured-clone semantics',
  kTest,
  async () => {
    await using pool = new Pool({ kind: 'process', maxThreads: 1 });
    const where = await pool.run<Where>(children, 'whereAmI');
    assert.notEqual(where.pid, process.pid);
    assert.equal(where.isMainThread, true, 'the main thread of another process, not a worker');
    assert.equal(where.connected, true);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const value = {
      date: new Date(0),
      map: new Map([['k', new Set([1n, 2n])]]),
      pattern: /ke+l/gi,
      floats: new Float32Array([1.5, 2.5]),
      buffer: Buffer.from('hi'),
      cyclic,
    };
    const echoed = await pool.run<typeof value>(math, 'echo', [value]);
    assert.deepEqual(echoed.date, value.date);
    assert.deepEqual(echoed.map, value.map);
    assert.equal(echoed.pattern.source, 'ke+l');
    assert.ok(echoed.floats instanceof Float32Array);
    assert.deepEqual([...echoed.floats], [1.5, 2.5]);
    assert.equal(echoed.cyclic.self, echoed.cyclic);
    assert.equal(await pool.run(math, 'addLater', [4, 5]), 9, 'async exports are awaited');
  },
);

test(
  'module() and asyncify with { pool } run on the children, function form too',
  kTest,
  async () => {
    await using pool = new Pool({ kind: 'process', maxThreads: 1 });
    const work = pool.module<typeof import('./fixtures/math.mjs')>(math);
    assert.equal(await work.add(3, 4), 7);
    const pidOf = asyncify(() => process.pid, { pool });
    const childPid = await pidOf();
    assert.notEqual(childPid, process.pid);
    assert.equal(pidOf.sync(), process.pid);
    const square = asyncify((x: number) => x * x, { pool });
    assert.equal(await square(7), 49);
    const add = asyncify<typeof import('./fixtures/math.mjs'), 'add'>(math, 'add', { pool });
    assert.equal(await add(1, 2), 3);
    const outer = 3;
    const closes = asyncify((x: number) => x * outer, { pool });
    const error = (await rejectionOf(closes(2))) as KeelError;
    assert.equal(error.code, 'ERR_NOT_CLONEABLE');
    assert.match(error.message, /'outer'/);
  },
);

test('tasks run in parallel on as many children as maxThreads', kTest, async () => {
  await using pool = new Pool({ kind: 'process', minThreads: 2, maxThreads: 2 });
  const [a, b] = [markFile(), markFile()];
  const first = pool.run(children, 'markThenDie', [a, 'wait'], { timeoutMs: 30_000 });
  const second = pool.run(children, 'markThenDie', [b, 'wait'], { timeoutMs: 30_000 });
  // Both block until killed: both marks can only appear if they run at the same time.
  const pids = await Promise.all([childPidWrittenTo(a), childPidWrittenTo(b)]);
  assert.notEqual(pids[0], pids[1]);
  assert.equal(pool.stats().busy, 2);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  for (const outcome of await Promise.allSettled([first, second])) {
    assert.equal(outcome.status, 'rejected');
    assert.equal((outcome.reason as KeelError).code, 'ERR_WORKER_EXITED');
  }
});

test('higher priority runs first, equal priorities in submission order', kTest, async () => {
  await using pool = new Pool({ kind: 'process', minThreads: 1, maxThreads: 1 });
  const blocker = pool.run(children, 'sleepThenEcho', [300, 'blocker']);
  const order: string[] = [];
  const track = (label: string, priority: number) =>
    pool.run(math, 'echo', [label], { priority }).then((value) => order.push(value as string));
  const all = [
    track('low-1', 0),
    track('high-1', 5),
    track('low-2', 0),
    track('high-2', 5),
    track('mid', 1),
  ];
  assert.equal(pool.stats().queued, 5);
  await Promise.all([blocker, ...all]);
  assert.deepEqual(order, ['high-1', 'high-2', 'mid', 'low-1', 'low-2']);
});

test('aborting a queued task removes it without touching the running one', kTest, async () => {
  await using pool = new Pool({ kind: 'process', minThreads: 1, maxThreads: 1 });
  const running = pool.run(children, 'pidAfter', [300]);
  const controller = new AbortController();
  const queued = pool.run(math, 'add', [1, 1], { signal: controller.signal });
  const later = pool.run(math, 'add', [2, 2]);
  assert.equal(pool.stats().queued, 2);
  controller.abort();
  assert.equal(((await rejectionOf(queued)) as DOMException).name, 'AbortError');
  assert.equal(pool.stats().queued, 1);
  const pid = await running;
  assert.equal(await later, 4);
  assert.equal(await pool.run(children, 'pidAfter', [0]), pid, 'the same child served on');
});

test(
  'aborting a running task kills its child only: a replacement serves, other tasks finish',
  kTest,
  async () => {
    await using pool = new Pool({ kind: 'process', minThreads: 2, maxThreads: 2 });
    const other = pool.run(children, 'pidAfter', [1500]);
    const mark = markFile();
    const controller = new AbortController();
    const blocked = pool.run(children, 'markThenBlock', [mark], { signal: controller.signal });
    const pid = await childPidWrittenTo(mark);
    controller.abort(new Error('enough'));
    assert.equal(((await rejectionOf(blocked)) as Error).message, 'enough');
    await eventually(() => !isAlive(pid), `the aborted task's child ${pid} is gone`, kWaitMs);
    const otherPid = await other;
    assert.notEqual(otherPid, pid, 'the other task ran undisturbed in its own child');
    const [a, b] = await Promise.all([
      pool.run(children, 'pidAfter', [200]),
      pool.run(children, 'pidAfter', [200]),
    ]);
    assert.ok(![a, b].includes(pid), 'a new child replaced the killed one');
    assert.equal(pool.stats().threads, 2);
  },
);

test(
  'a running task past timeoutMs rejects with ERR_TIMEOUT and its child is replaced',
  kTest,
  async () => {
    await using pool = new Pool({ kind: 'process', minThreads: 1, maxThreads: 1 });
    const mark = markFile();
    const started = Date.now();
    const error = (await rejectionOf(
      pool.run(children, 'markThenBlock', [mark], { timeoutMs: 300 }),
    )) as KeelError;
    assert.equal(error.code, 'ERR_TIMEOUT');
    assert.equal(error.name, 'TimeoutError');
    assert.ok(Date.now() - started < 20_000);
    const pid = await childPidWrittenTo(mark);
    await eventually(() => !isAlive(pid), `the timed-out child ${pid} is gone`, kWaitMs);
    const next = await pool.run<number>(children, 'pidAfter', [0]);
    assert.notEqual(next, pid);
  },
);

for (const how of ['exit', 'SIGKILL', 'abort'] as const) {
  test(
    `a child that dies mid-task (${how}) rejects that task with ERR_WORKER_EXITED; the pool serves on`,
    kTest,
    async () => {
      await using pool = new Pool({ kind: 'process', minThreads: 1, maxThreads: 1 });
      const mark = markFile();
      // Handled from the start: the child may die before its mark is seen.
      const failure = rejectionOf(
        pool.run(children, 'markThenDie', [mark, how === 'SIGKILL' ? 'wait' : how]),
      );
      const pid = await childPidWrittenTo(mark);
      if (how === 'SIGKILL') process.kill(pid, 'SIGKILL');
      const error = (await failure) as KeelError;
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_WORKER_EXITED');
      const expected = { exit: /exited with code 5/, SIGKILL: /SIGKILL/, abort: /SIGABRT/ }[how];
      assert.match(error.message, expected);
      assert.equal(await pool.run(math, 'add', [2, 2]), 4);
      assert.notEqual(await pool.run(children, 'pidAfter', [0]), pid);
      assert.equal(pool.stats().threads, 1);
    },
  );
}

test(
  'module load failures: ERR_NOT_FOUND for a missing module or export, ERR_START_FAILED for a throwing one',
  kTest,
  async () => {
    await using pool = new Pool({ kind: 'process', maxThreads: 1 });
    const missing = (await rejectionOf(pool.run(fixture('does-not-exist.mjs'), 'x'))) as KeelError;
    assert.equal(missing.code, 'ERR_NOT_FOUND');
    assert.match(missing.message, /does-not-exist\.mjs/);
    const noExport = (await rejectionOf(pool.run(math, 'multiply'))) as KeelError;
    assert.equal(noExport.code, 'ERR_NOT_FOUND');
    assert.match(noExport.message, /no export named 'multiply'/);
    const broken = (await rejectionOf(pool.run(fixture('broken-module.mjs'), 'x'))) as KeelError;
    assert.equal(broken.code, 'ERR_START_FAILED');
    assert.equal((broken.cause as Error).message, 'this module cannot be evaluated');
    assert.equal(await pool.run(math, 'add', [1, 1]), 2, 'the child still serves');
  },
);

test(
  'children that Node refuses to boot reject every run with ERR_START_FAILED and their stderr',
  kTest,
  async () => {
    const pool = new Pool({ kind: 'process', minThreads: 1, execArgv: ['--bogus-flag'] });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => pool.run(math, 'add', [1, 1])),
    );
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      const error = result.reason as KeelError;
      assert.equal(error.code, 'ERR_START_FAILED');
      assert.match(error.message, /pool process exited with code \d+ before it booted/);
      assert.match(error.message, /bad option: --bogus-flag/, 'the child stderr tail');
    }
    assert.equal(pool.stats().threads, 0);
    await pool.close();
  },
);

test(
  'errors keep their class, message, code, properties, cause and worker stack',
  kTest,
  async () => {
    await using pool = new Pool({ kind: 'process', maxThreads: 1 });
    async function callerWithDistinctName() {
      return await pool.run(failing, 'throwTypeError');
    }
    const error = (await rejectionOf(callerWithDistinctName())) as TypeError & {
      code: string;
      detail: unknown;
      cause: RangeError;
    };
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, 'bad input');
    assert.equal(error.code, 'E_BAD_INPUT');
    assert.deepEqual(error.detail, { field: 'speed', limit: 3 });
    assert.ok(error.cause instanceof RangeError);
    assert.equal(error.cause.message, 'root cause');
    const stack = error.stack ?? '';
    assert.ok(stack.indexOf('failing.mjs') > 0, stack);
    assert.ok(stack.indexOf('callerWithDistinctName') > stack.indexOf('failing.mjs'), stack);
    const custom = (await rejectionOf(pool.run(failing, 'throwCustom'))) as Error & {
      axis: number;
    };
    assert.equal(custom.name, 'MotorFault');
    assert.equal(custom.axis, 2);
  },
);

test('close() lets running and queued tasks finish, then ends the children', kTest, async () => {
  const pool = new Pool({ kind: 'process', minThreads: 1, maxThreads: 1 });
  const running = pool.run<number>(children, 'pidAfter', [300]);
  const queued = pool.run(math, 'add', [1, 2]);
  const closed = pool.close();
  assert.equal(
    ((await rejectionOf(pool.run(math, 'add', [0, 0]))) as KeelError).code,
    'ERR_CLOSED',
  );
  await closed;
  const pid = await running;
  assert.equal(await queued, 3);
  await eventually(() => !isAlive(pid), `the child ${pid} ended`, kWaitMs);
});

test(
  'close({ force: true }) rejects running and queued tasks with ERR_CLOSED and kills the children',
  kTest,
  async () => {
    const pool = new Pool({ kind: 'process', minThreads: 1, maxThreads: 1 });
    const mark = markFile();
    const tasks = [pool.run(children, 'markThenBlock', [mark]), pool.run(math, 'add', [1, 2])];
    const failures = Promise.all(tasks.map((task) => rejectionOf(task)));
    const pid = await childPidWrittenTo(mark);
    const started = Date.now();
    await pool.close({ force: true });
    assert.ok(Date.now() - started < 20_000, 'did not wait for the blocked task');
    for (const error of await failures) assert.equal((error as KeelError).code, 'ERR_CLOSED');
    await eventually(() => !isAlive(pid), `the child ${pid} was killed`, kWaitMs);
  },
);

test(
  'idle children never keep the process alive: a script that never closes its process pool exits',
  kTest,
  () => {
    const run = runScript('pool-process-unclosed.mjs');
    assert.equal(run.status, 0, `status ${run.status}, stderr:\n${run.stderr}`);
    assert.match(run.stdout, /sum 5, squared 49, children 2/);
  },
);

test('children above minThreads end after idleTimeoutMs', kTest, async () => {
  await using pool = new Pool({ kind: 'process', minThreads: 0, maxThreads: 2, idleTimeoutMs: 50 });
  const pids = await Promise.all([
    pool.run<number>(children, 'pidAfter', [200]),
    pool.run<number>(children, 'pidAfter', [200]),
  ]);
  assert.equal(new Set(pids).size, 2);
  await eventually(() => pool.stats().threads === 0, 'no child is left', kWaitMs);
  await eventually(() => pids.every((pid) => !isAlive(pid)), 'both children are gone', kWaitMs);
  assert.equal(await pool.run(math, 'add', [1, 1]), 2);
});

test(
  'resourceLimits become the child heap flag; env and execArgv reach the child',
  kTest,
  async () => {
    await using pool = new Pool({
      kind: 'process',
      maxThreads: 1,
      resourceLimits: { maxOldGenerationSizeMb: 48 },
      env: { KEEL_TEST_VALUE: 'from-env' },
      execArgv: ['--no-warnings'],
    });
    const heapMb = await pool.run<number>(children, 'heapLimitMb');
    assert.ok(heapMb < 200, `heap limit ${heapMb} MB`);
    assert.equal(
      await pool.run(fixture('environment.mjs'), 'readEnv', ['KEEL_TEST_VALUE']),
      'from-env',
    );
    assert.deepEqual(await pool.run(fixture('environment.mjs'), 'execArgv'), [
      '--no-warnings',
      '--max-old-space-size=48',
    ]);
  },
);

test(
  'a child that exhausts its heap limit dies alone: ERR_WORKER_EXITED, and the pool serves on',
  kTest,
  async () => {
    await using pool = new Pool({
      kind: 'process',
      maxThreads: 1,
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    const error = (await rejectionOf(pool.run(children, 'exhaustHeap'))) as KeelError;
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_WORKER_EXITED');
    assert.equal(await pool.run(math, 'add', [2, 3]), 5);
  },
);

test('stats() counts children, completions, failures and timings', kTest, async () => {
  await using pool = new Pool({ kind: 'process', minThreads: 1, maxThreads: 2 });
  for (let index = 0; index < 20; index++) await pool.run(math, 'add', [index, 1]);
  await assert.rejects(pool.run(failing, 'throwString'));
  const stats = pool.stats();
  assert.equal(stats.completed, 20);
  assert.equal(stats.failed, 1);
  assert.ok(stats.threads >= 1 && stats.threads <= 2);
  assert.equal(stats.busy, 0);
  assert.equal(stats.queued, 0);
  assert.ok(stats.runTimeMs.p50 >= 0 && stats.runTimeMs.p99 >= stats.runTimeMs.p50);
});

test(
  'many concurrent tiny tasks on two children all complete with the right values',
  kTest,
  async () => {
    await using pool = new Pool({ kind: 'process', minThreads: 2, maxThreads: 2 });
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, index) => pool.run(math, 'add', [index, index])),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 2000 }, (_, index) => 2 * index),
    );
  },
);

test(
  'with an arena, binaries cross to and from children through it (views over shared memory), and a child killed holding arena space gives it back',
  { ...kTest, ...kNeedsNative },
  async () => {
    const arena = new Arena({ bytes: 1 << 20, minBytes: 1024 });
    try {
      await using pool = new Pool({ kind: 'process', maxThreads: 1, arena });
      const big = new Float64Array(4096).map((_, index) => index * 0.5);
      const value = {
        big,
        bytes: new Uint8Array(2048).fill(7),
        list: [new Int32Array(512).fill(-3)],
      };
      const echoed = await pool.run<typeof value>(math, 'echo', [value]);
      assert.deepEqual(echoed, value);
      assert.ok(echoed.big.buffer instanceof SharedArrayBuffer, 'a view over the arena');
      assert.ok(arena.stats().bytesInUse > 0, 'the received views hold their space');
      release(echoed);
      // The child gives its arguments' space back as it finishes the call, which may be just
      // after its answer arrived here.
      await eventually(
        () => arena.stats().bytesInUse === 0,
        'released: the space is back',
        kWaitMs,
      );

      // The argument sits in the arena while the child runs; the child dies holding it.
      const mark = markFile();
      const dying = pool.run(children, 'markThenDie', [mark, 'wait', new Uint8Array(64 * 1024)]);
      const pid = await childPidWrittenTo(mark);
      assert.ok(arena.stats().bytesInUse >= 64 * 1024, 'the argument is in the arena');
      process.kill(pid, 'SIGKILL');
      const error = await rejectionOf(dying);
      assert.ok(error instanceof KeelError && error.code === 'ERR_WORKER_EXITED', String(error));
      await eventually(
        () => arena.stats().bytesInUse === 0,
        "the dead child's space given back",
        kWaitMs,
      );
      // The replacement child works, through the same arena.
      const again = await pool.run<Uint8Array>(math, 'echo', [new Uint8Array(4096).fill(3)]);
      assert.ok(again.buffer instanceof SharedArrayBuffer && again[4095] === 3);
    } finally {
      assert.equal(arena.closed, false, 'a caller-owned arena stays open after the pool closes');
      arena.close();
    }
    // Arena options: the pool builds and owns the arena, and closing the pool closes it.
    await using owned = new Pool({ kind: 'process', maxThreads: 1, arena: { bytes: 1 << 20 } });
    const bytes = new Uint8Array(100_000).fill(9);
    assert.deepEqual(await owned.run(math, 'echo', [bytes]), bytes);
  },
);

test("kind must be 'thread' or 'process': anything else is refused, naming kind", () => {
  for (const kind of ['proc', 'Process', null, 1, {}]) {
    assert.throws(
      () => new Pool({ kind } as never),
      (error: unknown) =>
        error instanceof KeelError &&
        error.code === 'ERR_INVALID_ARGUMENT' &&
        /^kind must be 'thread' or 'process', got /.test(error.message),
    );
  }
  assert.throws(() => new Pool({ knid: 'process' } as never), /did you mean kind\?/);
});
