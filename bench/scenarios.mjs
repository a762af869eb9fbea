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
//   peers         rows that compete ("best peer" is the best of these per column)
//   baselines     reference rows (raw platform), shown but never "best peer"
//   labels        optional display names per library
//   columns       { key, label, better: 'lower' | 'higher', format?: 'us' | 'int' | 'ms' }
//   ratios        { key, vs: 'best' | <library> }: a column of row value / reference value
//   bars          SPEC §6 bars checked on the subject row: { key, vs, max? | min?, text }
//   timeoutMs     per cell; `--quick` divides it by 4

const kPoolPeers = ['piscina', 'tinypool', 'workerpool', 'poolifier'];

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
];
