// The benchmark catalogue: one entry per scenario. A scenario is a cell file (run once per
// library, each in a fresh process) plus the spec of the table that shows its results.
// To add one: write bench/cells/<id>.mjs that ends in runCell(...) from lib/measure.mjs, and
// append an entry here. Nothing else changes.
//
// Entry fields:
//   id, group     selectable by `--only=<id or group>` (comma-separated)
//   title, note   table heading and the one line under it saying what was measured
//   cell          file in bench/cells/, run as `node <cell> --lib=<name> [--quick]`
//   subject       the row the summary is about (keel's)
//   others        optional further keel rows (other modes), shown after the subject
//   peers         rows that compete ("best peer" is the best of these per column)
//   baselines     reference rows (raw platform), shown but never "best peer"
//   labels        optional display names per library
//   columns       { key, label, better: 'lower' | 'higher', format?: 'us' | 'int' | 'ms' }
//   ratios        { key, vs: 'best' | <library>, refKey?, label? }: a column of row value /
//                 reference value (the reference's `refKey` metric when given, else `key`)
//   bars          SPEC §6 bars: { key, lib?, vs?, max? | min?, text }, checked on row `lib`
//                 (default the subject) as value / reference, or on the value itself without `vs`
//   timeoutMs     per cell; `--quick` divides it by 4

const kPoolPeers = ['piscina', 'tinypool', 'workerpool', 'poolifier'];

const kLatencyColumns = [
  { key: 'p50Us', label: 'p50 µs', better: 'lower' },
  { key: 'p99Us', label: 'p99 µs', better: 'lower' },
  { key: 'maxUs', label: 'max µs', better: 'lower' },
  { key: 'cpuUsPerCall', label: 'CPU µs/call', better: 'lower' },
];

// Leaves that crossed by copying because the arena was full (arena rows only): a row with many
// measured cloning under the arena's name.
const kFallbackColumn = {
  key: 'arenaFallbacks',
  label: 'arena fallbacks',
  better: 'lower',
  format: 'int',
};

/** @type {import('./lib/report.mjs').ScenarioSpec[]} */
export const scenarios = [
  {
    id: 'pool-latency',
    group: 'pool',
    title: 'Pool: no-op round trip, sequential',
    note: '2 threads; 20,000 awaited calls after 2,000 warm-up (--quick: 2,000 after 200); µs per call.',
    cell: 'pool-latency.mjs',
    subject: 'keel',
    peers: kPoolPeers,
    baselines: ['raw'],
    labels: { raw: 'raw postMessage echo' },
    columns: [
      { key: 'p50Us', label: 'p50 µs', better: 'lower' },
      { key: 'p99Us', label: 'p99 µs', better: 'lower' },
      { key: 'maxUs', label: 'max µs', better: 'lower' },
      { key: 'cpuUsPerCall', label: 'CPU µs/call', better: 'lower' },
    ],
    ratios: [
      { key: 'p50Us', vs: 'best' },
      { key: 'p99Us', vs: 'best' },
      { key: 'p50Us', vs: 'piscina' },
    ],
    bars: [],
    timeoutMs: 120_000,
  },
  {
    id: 'pool-throughput',
    group: 'pool',
    title: 'Pool: throughput of no-op tasks',
    note: '2 threads; 100,000 tasks, at most 64 in flight, after 10,000 warm-up (--quick: 10,000 after 2,000). CPU = all threads of the process (user+sys); main = main-thread busy time (ELU).',
    cell: 'pool-throughput.mjs',
    subject: 'keel',
    peers: kPoolPeers,
    baselines: ['raw'],
    labels: { raw: 'raw postMessage echo' },
    columns: [
      { key: 'tasksPerSec', label: 'tasks/s', better: 'higher', format: 'int' },
      { key: 'cpuUsPerTask', label: 'CPU µs/task', better: 'lower' },
      { key: 'mainUsPerTask', label: 'main µs/task', better: 'lower' },
    ],
    ratios: [
      { key: 'tasksPerSec', vs: 'best' },
      { key: 'cpuUsPerTask', vs: 'best' },
      { key: 'tasksPerSec', vs: 'piscina' },
    ],
    bars: [
      {
        key: 'tasksPerSec',
        vs: 'best',
        min: 1,
        text: 'SPEC §6: pool throughput of tiny tasks at least that of the best peer',
      },
    ],
    timeoutMs: 180_000,
  },
  {
    id: 'spawn-latency',
    group: 'spawn',
    title: 'spawn: no-op round trip to a dedicated worker or process, sequential',
    note: "`await remote.noop(0)`, 20,000 calls after 2,000 warm-up (--quick: 2,000 after 200); µs per call. CPU = every thread of the process plus the child process's (process rows); main = the main thread's own CPU.",
    cell: 'spawn-latency.mjs',
    subject: 'keel-thread',
    others: ['keel-process'],
    peers: ['comlink', 'piscina'],
    baselines: ['raw', 'raw-atomics', 'raw-ipc'],
    labels: {
      piscina: 'piscina (1 thread)',
      raw: 'raw postMessage echo',
      'raw-atomics': 'raw Atomics ping-pong',
      'raw-ipc': 'raw fork() IPC echo',
    },
    columns: [
      ...kLatencyColumns,
      { key: 'mainCpuUsPerCall', label: 'main CPU µs/call', better: 'lower' },
    ],
    ratios: [
      { key: 'p50Us', vs: 'comlink' },
      { key: 'p50Us', vs: 'piscina' },
      { key: 'p50Us', vs: 'raw-ipc', label: 'p50 ÷ fork IPC' },
    ],
    bars: [
      {
        key: 'p50Us',
        vs: 'comlink',
        max: 1 / 5,
        text: "SPEC §6: spawn thread no-op p50 at most 1/5 of comlink's",
      },
      {
        key: 'p50Us',
        vs: 'piscina',
        max: 1 / 5,
        text: "SPEC §6: spawn thread no-op p50 at most 1/5 of piscina's run",
      },
      {
        key: 'p50Us',
        lib: 'keel-process',
        vs: 'raw-ipc',
        max: 1,
        text: "SPEC §6: spawn process no-op p50 at most child_process IPC's",
      },
      {
        key: 'p50Us',
        lib: 'keel-process',
        vs: 'keel-thread',
        max: 2,
        text: "SPEC §6 (processes): spawn process no-op p50 at most 2x a thread remote's (calls ride shared-memory rings)",
      },
    ],
    timeoutMs: 120_000,
  },
  {
    id: 'spawn-payload',
    group: 'spawn',
    title: 'spawn: 1 MiB Uint8Array argument echoed by a dedicated worker or process, sequential',
    note: 'echo(bytes) returns its argument; 1,000 calls after 100 warm-up (--quick: 200 after 20); µs per round trip. Clone rows copy both ways, transfer rows move the buffer both ways, keel-arena carries it through an Arena both ways.',
    cell: 'spawn-payload.mjs',
    subject: 'keel-thread',
    others: ['keel-process', 'keel-arena'],
    peers: ['comlink', 'comlink-transfer', 'piscina', 'piscina-move'],
    baselines: ['raw', 'raw-transfer', 'raw-ipc'],
    labels: {
      piscina: 'piscina (1 thread)',
      'piscina-move': 'piscina-move (1 thread)',
      raw: 'raw postMessage clone',
      'raw-transfer': 'raw postMessage transfer',
      'raw-ipc': 'raw fork() IPC',
    },
    columns: [...kLatencyColumns, kFallbackColumn],
    ratios: [
      { key: 'p50Us', vs: 'comlink' },
      { key: 'p99Us', vs: 'comlink' },
      { key: 'p50Us', vs: 'best' },
    ],
    bars: [],
    timeoutMs: 120_000,
  },
  {
    id: 'frames',
    group: 'frames',
    title: 'Frames: a 1.2 MB frame produced in a worker, received on the main thread',
    note: 'A fresh 480x848x3 Uint8Array per request. main = main-thread CPU µs per frame received (Linux schedstat of the main thread; ELU active time beside it), 2,000 frames one at a time after 200 warm-up; latency = worker stamp to frame in hand (process.hrtime both sides); GB/s and main µs/frame streaming = 3,000 frames back to back, 4 requests in flight (--quick: 300 / 300). One at a time, each frame wakes an idle main thread, and that wake-up is counted; streaming, the main thread is busy receiving and pays per frame only what receiving costs. keel-stream: iterateInWorker with an arena (buffer 4), the generator paced at 2 ms per frame for the per-frame figures, free-running for GB/s; keel-stream-in-place: the same, the generator writing each frame into Arena.current() (no copy anywhere).',
    cell: 'frames.mjs',
    subject: 'keel-stream',
    others: [
      'keel-stream-in-place',
      'keel-stream-process',
      'keel-stream-process-in-place',
      'keel-stream-process-pipe',
      'keel-arena',
      'keel-thread',
    ],
    peers: ['comlink', 'comlink-transfer', 'piscina', 'piscina-move'],
    baselines: ['raw', 'raw-transfer', 'memcpy'],
    labels: {
      'keel-thread': 'keel-thread (clone)',
      'keel-arena': 'keel-arena (spawn, one request per frame)',
      'keel-stream': 'keel-stream (iterateInWorker + arena)',
      'keel-stream-in-place': 'keel-stream-in-place (frames written into Arena.current())',
      'keel-stream-process': 'keel-stream-process (child process + arena)',
      'keel-stream-process-in-place': 'keel-stream-process-in-place (child writes into the arena)',
      'keel-stream-process-pipe': 'keel-stream-process-pipe (child process, no arena: copied)',
      piscina: 'piscina (1 thread)',
      'piscina-move': 'piscina-move (1 thread)',
      raw: 'raw postMessage clone',
      'raw-transfer': 'raw postMessage transfer',
      memcpy: 'memcpy: one set() on main',
    },
    columns: [
      { key: 'mainUsPerFrame', label: 'main µs/frame, one at a time', better: 'lower' },
      { key: 'mainEluUsPerFrame', label: 'main ELU µs/frame', better: 'lower' },
      { key: 'streamMainUsPerFrame', label: 'main µs/frame, streaming', better: 'lower' },
      { key: 'p50Us', label: 'latency p50 µs', better: 'lower' },
      { key: 'p99Us', label: 'latency p99 µs', better: 'lower' },
      { key: 'gbPerSec', label: 'GB/s', better: 'higher' },
      kFallbackColumn,
    ],
    ratios: [
      { key: 'mainUsPerFrame', vs: 'raw', label: 'main (one at a time) ÷ raw clone' },
      { key: 'streamMainUsPerFrame', vs: 'raw', label: 'main (streaming) ÷ raw clone' },
      { key: 'gbPerSec', vs: 'memcpy', label: 'GB/s ÷ memcpy' },
      { key: 'gbPerSec', vs: 'memcpy', refKey: 'coldGbPerSec', label: 'GB/s ÷ cold memcpy' },
    ],
    bars: [
      {
        key: 'streamMainUsPerFrame',
        vs: 'raw',
        max: 1 / 10,
        text: 'SPEC §6: main-thread time per frame through the arena at most 1/10 of postMessage cloning (frames streaming: the time a running loop loses per frame)',
      },
      {
        key: 'gbPerSec',
        vs: 'memcpy',
        min: 2 / 3,
        text: 'SPEC §6: frames streamed through the arena at no less than 2/3 of memcpy bandwidth',
      },
      {
        key: 'gbPerSec',
        lib: 'keel-stream-in-place',
        vs: 'memcpy',
        min: 2 / 3,
        text: '... frames the worker writes into the arena in place (crossing by reference, no copy)',
      },
      {
        key: 'streamMainUsPerFrame',
        lib: 'keel-stream-in-place',
        vs: 'raw',
        max: 1 / 10,
        text: '... main-thread time per frame written in place, at most 1/10 of postMessage cloning',
      },
      {
        key: 'gbPerSec',
        lib: 'keel-stream-process-in-place',
        vs: 'memcpy',
        min: 2 / 3,
        text: 'SPEC §6 (processes): frames streamed child -> parent through the arena, written in place, at no less than 2/3 of memcpy bandwidth',
      },
    ],
    timeoutMs: 180_000,
  },
  {
    id: 'frames-pool',
    group: 'frames',
    title: 'Frames: 1.2 MB round trip through a 2-thread pool, sequential',
    note: "A 480x848x3 Uint8Array sent to a worker function that returns it; 2,000 calls measured after 10,000 warm-up, the steady state (keel's path settles after ~5,000 round trips on this VM: V8 compiles it while both threads want a core, and the adaptive spin finds its pace; every library gets the same warm-up); p50 of the first 2,000 calls beside it (cold p50); --quick: 300 after 50; µs per round trip. keel-arena: new Pool({ arena }), the frame in the arena (arena.allocate), sent on as it comes back like a transferred buffer; keel-arena-copy: a plain frame copied into the arena each call; peers: each one's transfer path. main = main-thread CPU µs per call.",
    cell: 'frames-pool.mjs',
    subject: 'keel-arena',
    others: ['keel-arena-copy', 'keel'],
    peers: ['piscina-move', 'tinypool-move', 'workerpool-transfer', 'poolifier-transfer'],
    baselines: ['raw-transfer'],
    labels: {
      keel: 'keel (no arena: clone)',
      'keel-arena-copy': 'keel-arena (plain frame copied in)',
      'raw-transfer': 'raw postMessage transfer (1 worker)',
    },
    columns: [
      ...kLatencyColumns,
      { key: 'mainUsPerCall', label: 'main µs/call', better: 'lower' },
      { key: 'coldP50Us', label: 'cold p50 µs (first 2,000)', better: 'lower' },
      kFallbackColumn,
    ],
    ratios: [
      { key: 'p50Us', vs: 'best' },
      { key: 'p99Us', vs: 'best' },
      { key: 'coldP50Us', vs: 'best', label: 'cold p50 ÷ best peer' },
    ],
    bars: [
      {
        key: 'p50Us',
        vs: 'best',
        max: 1,
        text: "SPEC §6: 1.2 MB pool round trip with an arena, p50 at most the best peer transfer path's",
      },
      {
        key: 'p99Us',
        vs: 'best',
        max: 1 / 3,
        text: "SPEC §6: ... and its p99 at most 1/3 of the best peer transfer path's p99",
      },
    ],
    timeoutMs: 120_000,
  },
  {
    id: 'frames-born',
    group: 'frames',
    title:
      'Frames born in the worker: a pool function that allocates a fresh 1.2 MB frame and returns it',
    note: "The worker function allocates a new 480x848x3 Uint8Array, fills it and returns it (a decoder, a renderer, a camera grab); 2 threads, 5,000 awaited calls after 500 warm-up (--quick: 300 after 50). p50 / p99 µs per call, CPU (all threads) and main-thread CPU µs per call, and alloc: the user function's own allocate-and-fill time, measured inside the worker. keel-move: the function returns move(frame); keel-arena: a Pool with an arena, the frame returned as is (copied into the arena); keel: no arena (structured clone); keel-arena-alloc: the function allocates its frame in the arena (Arena.current().allocate). Peers: their transfer paths; piscina (clone) is the reference for the in-worker allocation of a cloned result.",
    cell: 'frames-born.mjs',
    subject: 'keel-move',
    others: ['keel-arena', 'keel', 'keel-arena-alloc'],
    peers: ['piscina-move', 'workerpool-transfer'],
    baselines: ['piscina', 'raw-transfer', 'raw'],
    labels: {
      keel: 'keel (no arena: clone)',
      'keel-arena-alloc': 'keel-arena (frame made in the arena)',
      piscina: 'piscina (clone)',
      'raw-transfer': 'raw postMessage transfer (1 worker)',
      raw: 'raw postMessage clone (1 worker)',
    },
    columns: [
      { key: 'p50Us', label: 'p50 µs', better: 'lower' },
      { key: 'p99Us', label: 'p99 µs', better: 'lower' },
      { key: 'cpuUsPerCall', label: 'CPU µs/call', better: 'lower' },
      { key: 'mainUsPerCall', label: 'main µs/call', better: 'lower' },
      { key: 'allocP50Us', label: 'alloc p50 µs', better: 'lower' },
      { key: 'allocP99Us', label: 'alloc p99 µs', better: 'lower' },
      { key: 'faultsPerCall', label: 'page faults/call', better: 'lower', format: 'int' },
    ],
    ratios: [
      { key: 'p50Us', vs: 'best' },
      { key: 'p99Us', vs: 'best' },
      { key: 'allocP50Us', vs: 'piscina-move', label: 'alloc p50 ÷ piscina-move' },
    ],
    bars: [
      {
        key: 'p50Us',
        vs: 'best',
        max: 1,
        text: "SPEC §6: a frame returned with move(): p50 at most the best peer transfer path's",
      },
      {
        key: 'p99Us',
        vs: 'best',
        max: 1,
        text: "SPEC §6: ... and p99 at most the best peer transfer path's",
      },
      {
        key: 'p50Us',
        lib: 'keel-arena',
        vs: 'best',
        max: 1.5,
        text: "SPEC §6: without move, through an arena: p50 at most 1.5x the best peer transfer path's",
      },
      {
        key: 'allocP50Us',
        vs: 'piscina-move',
        max: 1.1,
        text: "SPEC §6: the user's allocation inside the worker, keel-move vs piscina-move: within 10 %",
      },
      {
        key: 'allocP50Us',
        lib: 'keel',
        vs: 'piscina',
        max: 1.1,
        text: '... keel (clone) vs piscina (clone): within 10 %',
      },
      {
        key: 'allocP50Us',
        lib: 'keel-arena',
        vs: 'piscina-move',
        max: 1.1,
        text: '... keel-arena vs piscina-move: within 10 %',
      },
    ],
    timeoutMs: 180_000,
  },
  {
    id: 'shared-object',
    group: 'shared-object',
    title: 'SharedObject: assign and fetch of a 1.2 MB frame and of a scalar',
    note: 'Rows are operations on one thread (contended: a worker assigns the same slot at full speed meanwhile). Frame rows: each operation timed alone, 2,000 after 200 warm-up; scalar rows: mean per operation of batches of 1,000, 400 batches (--quick: 300 ops / 50 batches). µs. Cold memcpy: a copy into one of 48 preallocated targets in turn (59 MB, beyond the caches), as a fresh allocation is. Page faults/op: the minor page faults of the process per operation while measuring; a 1.2 MB allocation that gets fresh pages from the kernel takes 298.',
    cell: 'shared-object.mjs',
    subject: 'fetch-frame',
    others: [
      'fetch-into-frame',
      'assign-frame',
      'fetch-frame-view',
      'fetch-frame-contended',
      'fetch-into-frame-contended',
      'assign-scalar',
      'fetch-scalar',
      'fetch-scalar-contended',
      'fetch-into-frame-machine',
      'fetch-into-frame-machine-contended',
    ],
    peers: [],
    baselines: ['memcpy', 'memcpy-cold', 'slice'],
    labels: {
      memcpy: 'memcpy: target.set(frame)',
      'memcpy-cold': 'memcpy into a cold target',
      slice: 'frame.slice()',
    },
    columns: [
      { key: 'p50Us', label: 'p50 µs', better: 'lower' },
      { key: 'p99Us', label: 'p99 µs', better: 'lower' },
      { key: 'maxUs', label: 'max µs', better: 'lower' },
      { key: 'faultsPerOp', label: 'page faults/op', better: 'lower' },
    ],
    ratios: [
      { key: 'p50Us', vs: 'memcpy' },
      { key: 'p99Us', vs: 'memcpy' },
      { key: 'p50Us', vs: 'memcpy-cold', label: 'p50 ÷ cold memcpy' },
      { key: 'p50Us', vs: 'slice', label: 'p50 ÷ slice()' },
    ],
    bars: [
      {
        key: 'p50Us',
        lib: 'fetch-into-frame',
        vs: 'memcpy',
        max: 1.5,
        text: "SPEC §6: SharedObject fetch of a 1.2 MB frame within 1.5× one memcpy (p50; fetchInto: a consistent copy into the caller's array, as the memcpy row copies into a preallocated one)",
      },
      {
        key: 'p50Us',
        lib: 'fetch-scalar',
        max: 1,
        text: 'SPEC §6: SharedObject fetch of a scalar under 1 µs (p50 of batch means, µs)',
      },
      {
        key: 'p50Us',
        lib: 'fetch-into-frame-machine',
        vs: 'memcpy',
        max: 1.5,
        text: 'SPEC §6 (processes): machine-scope SharedObject fetch of a frame written in another process within 1.5× one memcpy (p50)',
      },
    ],
    timeoutMs: 60_000,
  },
  {
    id: 'shared-object-wake',
    group: 'shared-object',
    title: 'SharedObject: changed() wake-up after a trigger in another thread or process',
    note: "The peer triggers every 2 ms; the waiter measures process.hrtime.bigint() - slot.mtime as each changed() resolves (CLOCK_MONOTONIC on both sides). 2,000 wakes after 200 (--quick: 300 after 50). µs. thread: a worker thread, process-scope slot (Atomics.waitAsync); process: a child process, machine-scope slot (a futex through keel's native layer, one waiter thread per process).",
    cell: 'shared-object-wake.mjs',
    subject: 'process',
    others: [],
    peers: [],
    baselines: ['thread'],
    labels: {
      process: 'another process (machine scope)',
      thread: 'another thread (process scope)',
    },
    columns: [
      { key: 'p50Us', label: 'p50 µs', better: 'lower' },
      { key: 'p99Us', label: 'p99 µs', better: 'lower' },
      { key: 'maxUs', label: 'max µs', better: 'lower' },
    ],
    ratios: [
      { key: 'p50Us', vs: 'thread' },
      { key: 'p99Us', vs: 'thread' },
    ],
    bars: [
      {
        key: 'p50Us',
        vs: 'thread',
        max: 2,
        text: 'SPEC §6 (processes): a cross-process changed() wake-up p50 within 2x an in-process one',
      },
    ],
    timeoutMs: 60_000,
  },
  {
    id: 'headline',
    group: 'realtime',
    title:
      'Headline: a 1 kHz control loop beside a 5 ms policy at 100 Hz and 1.2 MB frames at 60 Hz',
    note: "The demo's robot scene (demo/scene/); one condition per row, each in its own process. Policy: the demo's MLP calibrated to ~5 ms, through keel spawn (thread), a 1-thread keel Pool, piscina (1 thread) or comlink (Node adapter), or inline on the main thread. Frames: a keel camera worker assigning a SharedObject, or a plain worker posting them (clone). Three phases of 5 s (--quick: 1 s): a RealtimeLoop on the main thread ('main-loop'); RealtimeLoop.inWorker with its default spinUs 200 ('inWorker'; the main thread relays the policy calls); the same with spinUs 1000 ('spinning'). Jitter: tick lateness after its deadline (stats(), µs; under 1,000 by construction: later ticks are missed, of 5,000). ELD: monitorLoop on the main thread during that phase (µs).",
    cell: 'headline.mjs',
    subject: 'keel',
    others: ['keel-pool', 'keel-postmessage'],
    peers: ['piscina', 'comlink', 'piscina-postmessage', 'comlink-postmessage'],
    baselines: ['idle', 'inline'],
    labels: {
      keel: 'keel spawn, SharedObject frames',
      'keel-pool': 'keel Pool (1 thread), SharedObject frames',
      'keel-postmessage': 'keel spawn, postMessage frames',
      piscina: 'piscina, SharedObject frames',
      'piscina-postmessage': 'piscina, postMessage frames',
      comlink: 'comlink, SharedObject frames',
      'comlink-postmessage': 'comlink, postMessage frames',
      idle: 'idle: the loops alone',
      inline: 'policy inline on main',
    },
    columns: [
      { key: 'workerLoopP99Us', label: 'inWorker p99 µs', better: 'lower' },
      { key: 'workerLoopMissed', label: 'inWorker missed', better: 'lower', format: 'int' },
      { key: 'eldP99Us', label: 'inWorker: main ELD p99 µs', better: 'lower' },
      { key: 'spinLoopP99Us', label: 'spinning p99 µs', better: 'lower' },
      { key: 'spinLoopMissed', label: 'spinning missed', better: 'lower', format: 'int' },
      { key: 'spinPhaseEldP99Us', label: 'spinning: main ELD p99 µs', better: 'lower' },
      { key: 'mainLoopP99Us', label: 'main-loop p99 µs', better: 'lower' },
      { key: 'mainLoopMissed', label: 'main-loop missed', better: 'lower', format: 'int' },
      { key: 'mainPhaseEldP99Us', label: 'main-loop: ELD p99 µs', better: 'lower' },
    ],
    ratios: [
      { key: 'workerLoopP99Us', vs: 'idle', label: 'inWorker p99 ÷ idle' },
      { key: 'eldP99Us', vs: 'idle', label: 'inWorker: main ELD p99 ÷ idle' },
      { key: 'spinLoopP99Us', vs: 'idle', label: 'spinning p99 ÷ idle' },
      { key: 'mainPhaseEldP99Us', vs: 'idle', label: 'main-loop: ELD p99 ÷ idle' },
    ],
    bars: [
      {
        key: 'workerLoopP99Us',
        vs: 'idle',
        max: 1.2,
        text: 'SPEC §6: inWorker loop jitter p99 (default spinUs), policy offloaded and camera running, at most 1.2× its idle p99',
      },
      {
        key: 'spinLoopP99Us',
        vs: 'idle',
        max: 1.2,
        text: '(the same with spinUs 1000: the loop keeps its CPU)',
      },
      {
        key: 'eldP99Us',
        vs: 'idle',
        max: 1.5,
        text: 'SPEC §6: main-thread event-loop delay p99 with keel at most 1.5× idle (inline: about 35×)',
      },
    ],
    timeoutMs: 90_000,
  },
  {
    id: 'decode',
    group: 'decode',
    title: 'Decode: JPEG to normalised Float32 batches of 32',
    note: "256 JPEG files (224x224, quality 85, made once with jpeg-js's encoder in the OS temp dir) read, decoded (jpeg-js), resized to 112x112 (bilinear) and normalised to Float32 CHW by the same function in every row, after a 64-image warm-up (--quick: 128 images); threads = availableParallelism. single: a loop on the calling thread; keel-pipeline: pipeline(paths).pipe(task(url, 'decode', { pool }), { concurrency: 4 x threads }).aggregate(32), collated on the caller; keel-loader: DataLoader, getItem decodes image i (workers collate, the caller joins chunks); piscina: a hand-written window of 4 x threads tasks, results in order, collated on the caller. Results cross with each library's move(). main = the calling thread's CPU per batch; loop delay = its event-loop delay while the batches come.",
    cell: 'decode.mjs',
    subject: 'keel-pipeline',
    others: ['keel-loader'],
    peers: ['piscina'],
    baselines: ['single'],
    labels: {
      'keel-pipeline': 'keel pipeline + task',
      'keel-loader': 'keel DataLoader',
      piscina: 'piscina (hand-written batching)',
      single: 'single-thread loop',
    },
    columns: [
      { key: 'imagesPerSec', label: 'images/s', better: 'higher', format: 'int' },
      { key: 'mainCpuUsPerBatch', label: 'main CPU µs/batch', better: 'lower' },
      { key: 'cpuMsPerBatch', label: 'CPU ms/batch (all threads)', better: 'lower' },
      { key: 'loopDelayP99Ms', label: 'loop delay p99 ms', better: 'lower' },
      { key: 'loopDelayMaxMs', label: 'loop delay max ms', better: 'lower' },
    ],
    ratios: [
      { key: 'imagesPerSec', vs: 'piscina' },
      { key: 'mainCpuUsPerBatch', vs: 'piscina' },
    ],
    bars: [],
    timeoutMs: 180_000,
  },
];
