// Writes BENCHMARKS.md from a results JSON of `npm run bench` (bench/index.mjs), so that the
// report is never edited by hand: the tables, the SPEC §6 bars and what the reader is looking
// at (run mode, commit, date, machine) all come from the JSON; the one hand-written section,
// "Where keel loses, and why", comes from bench/report-notes.md.
//
//   node bench/report.mjs [results.json] [--check]
//   npm run bench -- --write            (a run, then this, from the run's results)
//
// The results a BENCHMARKS.md was made from are kept beside it in bench/results.json (without
// the single runs), so that the report can be made again after the notes change without running
// the benchmarks. Given another file, the script keeps that one there instead. --check writes nothing and exits 1 when
// BENCHMARKS.md is not what bench/results.json and the notes make.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkBar, formatValue, orderedLibs, referenceValue, renderTable } from './lib/report.mjs';
import { scenarios } from './scenarios.mjs';

const kRoot = fileURLToPath(new URL('../', import.meta.url));
export const kReportFile = resolve(kRoot, 'BENCHMARKS.md');
export const kResultsFile = resolve(kRoot, 'bench/results.json');
const kNotesFile = resolve(kRoot, 'bench/report-notes.md');

const kPeerNames = ['piscina', 'tinypool', 'workerpool', 'poolifier', 'comlink'];

/**
 * The bars of SPEC §6, in its order, each with the check that measures it: a row (`lib`) of a
 * scenario's table against a reference (`vs`: a row, or 'best' peer; none for an absolute
 * bar), within `max` or `min`. A bar without `scenario` has no benchmark cell yet.
 * @typedef {{ bar: string, scenario?: string, key?: string, lib?: string, vs?: string,
 *   max?: number, min?: number, unit?: string }} SpecBar
 * @type {SpecBar[]}
 */
const kSpecBars = [
  {
    bar: "`spawn` thread object, no-op round trip: p50 ≤ 1/5 of comlink's",
    scenario: 'spawn-latency',
    key: 'p50Us',
    lib: 'keel-thread',
    vs: 'comlink',
    max: 1 / 5,
  },
  {
    bar: "... and ≤ 1/5 of piscina's `run`",
    scenario: 'spawn-latency',
    key: 'p50Us',
    lib: 'keel-thread',
    vs: 'piscina',
    max: 1 / 5,
  },
  {
    bar: "`spawn` process object, no-op round trip: p50 ≤ child_process IPC's",
    scenario: 'spawn-latency',
    key: 'p50Us',
    lib: 'keel-process',
    vs: 'raw-ipc',
    max: 1,
  },
  {
    bar: 'main-thread time per 1.2 MB frame from a worker ≤ 1/10 of postMessage cloning (streamed, copied into the arena)',
    scenario: 'frames',
    key: 'streamMainUsPerFrame',
    lib: 'keel-stream',
    vs: 'raw',
    max: 1 / 10,
  },
  {
    bar: '... frames written into the arena in place',
    scenario: 'frames',
    key: 'streamMainUsPerFrame',
    lib: 'keel-stream-in-place',
    vs: 'raw',
    max: 1 / 10,
  },
  {
    bar: 'frames streamed through an arena ≥ 2/3 of memcpy bandwidth (copied into the arena)',
    scenario: 'frames',
    key: 'gbPerSec',
    lib: 'keel-stream',
    vs: 'memcpy',
    min: 2 / 3,
  },
  {
    bar: '... frames written into the arena in place',
    scenario: 'frames',
    key: 'gbPerSec',
    lib: 'keel-stream-in-place',
    vs: 'memcpy',
    min: 2 / 3,
  },
  {
    bar: "SharedObject fetch of a 1.2 MB frame ≤ 1.5× one memcpy (`fetchInto`: into the caller's array, as memcpy copies into a preallocated one)",
    scenario: 'shared-object',
    key: 'p50Us',
    lib: 'fetch-into-frame',
    vs: 'memcpy',
    max: 1.5,
  },
  {
    bar: '... `fetch()`, which allocates the copy it returns',
    scenario: 'shared-object',
    key: 'p50Us',
    lib: 'fetch-frame',
    vs: 'memcpy',
    max: 1.5,
  },
  {
    bar: 'SharedObject fetch of a scalar < 1 µs (p50)',
    scenario: 'shared-object',
    key: 'p50Us',
    lib: 'fetch-scalar',
    max: 1,
  },
  {
    bar: '1 kHz `inWorker` loop beside a 5 ms policy at 100 Hz and 60 Hz frames: jitter p99 ≤ 1.2× its idle p99 (default `spinUs`)',
    scenario: 'headline',
    key: 'workerLoopP99Us',
    lib: 'keel',
    vs: 'idle',
    max: 1.2,
  },
  {
    bar: '... with `spinUs` 1000 (the loop keeps its core)',
    scenario: 'headline',
    key: 'spinLoopP99Us',
    lib: 'keel',
    vs: 'idle',
    max: 1.2,
  },
  {
    bar: '... main-thread event-loop delay p99 ≤ 1.5× idle',
    scenario: 'headline',
    key: 'eldP99Us',
    lib: 'keel',
    vs: 'idle',
    max: 1.5,
  },
  {
    bar: 'pool throughput of tiny tasks ≥ the best peer',
    scenario: 'pool-throughput',
    key: 'tasksPerSec',
    lib: 'keel',
    vs: 'best',
    min: 1,
  },
  {
    bar: "1.2 MB round trip through a pool with an arena: p50 ≤ the best peer's transfer path",
    scenario: 'frames-pool',
    key: 'p50Us',
    lib: 'keel-arena',
    vs: 'best',
    max: 1,
  },
  {
    bar: '... p99 ≤ 1/3 of the best peer transfer p99',
    scenario: 'frames-pool',
    key: 'p99Us',
    lib: 'keel-arena',
    vs: 'best',
    max: 1 / 3,
  },
  {
    bar: "`move`: a fresh 1.2 MB frame returned with `move`: p50 ≤ the best peer's transfer path",
    scenario: 'frames-born',
    key: 'p50Us',
    lib: 'keel-move',
    vs: 'best',
    max: 1,
  },
  {
    bar: '... and p99 ≤ the best peer transfer p99',
    scenario: 'frames-born',
    key: 'p99Us',
    lib: 'keel-move',
    vs: 'best',
    max: 1,
  },
  {
    bar: '... through an arena without `move`: p50 ≤ 1.5× the best peer transfer path',
    scenario: 'frames-born',
    key: 'p50Us',
    lib: 'keel-arena',
    vs: 'best',
    max: 1.5,
  },
  {
    bar: 'an allocation-heavy function takes no longer in a keel worker than in a piscina worker (within 10 %): alloc p50, keel-move vs piscina-move',
    scenario: 'frames-born',
    key: 'allocP50Us',
    lib: 'keel-move',
    vs: 'piscina-move',
    max: 1.1,
  },
  {
    bar: '... keel (clone) vs piscina (clone)',
    scenario: 'frames-born',
    key: 'allocP50Us',
    lib: 'keel',
    vs: 'piscina',
    max: 1.1,
  },
  {
    bar: '... keel-arena vs piscina-move',
    scenario: 'frames-born',
    key: 'allocP50Us',
    lib: 'keel-arena',
    vs: 'piscina-move',
    max: 1.1,
  },
  {
    bar: "`spawn` process no-op p50 ≤ 2× a thread remote's (§7)",
    scenario: 'spawn-latency',
    key: 'p50Us',
    lib: 'keel-process',
    vs: 'keel-thread',
    max: 2,
  },
  {
    bar: '1.2 MB frames streamed child -> parent through the arena, written in place, ≥ 2/3 of memcpy (§7)',
    scenario: 'frames',
    key: 'gbPerSec',
    lib: 'keel-stream-process-in-place',
    vs: 'memcpy',
    min: 2 / 3,
  },
  {
    bar: 'machine-scope SharedObject fetch of a frame written in another process ≤ 1.5× memcpy (§7)',
    scenario: 'shared-object',
    key: 'p50Us',
    lib: 'fetch-into-frame-machine',
    vs: 'memcpy',
    max: 1.5,
  },
  {
    bar: 'cross-process `changed()` wake-up p50 ≤ 2× in-process (§7)',
    scenario: 'shared-object-wake',
    key: 'p50Us',
    lib: 'process',
    vs: 'thread',
    max: 2,
  },
  {
    bar: "headline scene plus three busy threads, `inWorker` loop at `priority: 'realtime'` sleeping between ticks (default `spinUs`): jitter p99 ≤ 100 µs (§8)",
    scenario: 'headline',
    key: 'workerLoopP99Us',
    lib: 'keel-realtime',
    max: 100,
  },
  {
    bar: '... spinning through the period (`spinUs` 1000): p99 ≤ 1.2× its idle p99 (§8)',
    scenario: 'headline',
    key: 'spinLoopP99Us',
    lib: 'keel-realtime',
    vs: 'idle',
    max: 1.2,
  },
  {
    bar: "... policy at `priority: 'background'`: main-thread event-loop delay p99 ≤ 1.5× idle (§8)",
    scenario: 'headline',
    key: 'eldP99Us',
    lib: 'keel-realtime',
    vs: 'idle',
    max: 1.5,
  },
  {
    bar: "`QueuePool` tiny-job throughput ≥ 0.8× raw BullMQ's, same Redis, two worker processes (§9)",
    scenario: 'queue',
    key: 'jobsPerSec',
    lib: 'keel',
    vs: 'bullmq',
    min: 0.8,
  },
  {
    bar: '10 ms CPU jobs through a `QueuePool`: two worker processes ≥ 1.6× one (§9)',
    scenario: 'queue-scaling',
    key: 'jobsPerSec',
    lib: 'keel-2',
    vs: 'keel-1',
    min: 1.6,
  },
  {
    bar: 'a worker SIGKILLed every second while 2,000 jobs run: no job lost (§9)',
    scenario: 'queue-chaos',
    key: 'lost',
    lib: 'keel-chaos',
    max: 0,
    unit: '',
  },
  {
    bar: '... and no result delivered twice (§9)',
    scenario: 'queue-chaos',
    key: 'duplicated',
    lib: 'keel-chaos',
    max: 0,
    unit: '',
  },
];

/** A scenario's results as the Map that lib/report.mjs works on: library -> aggregated result. */
function byLibOf(scenarioResult) {
  return new Map(scenarioResult.results.map((result) => [result.lib, result]));
}

function specOf(id) {
  return scenarios.find((spec) => spec.id === id);
}

/** The unit in a column label ("p50 µs" -> "µs", "GB/s" -> "GB/s"), or ''. */
function unitOf(spec, key) {
  const label = spec.columns.find((column) => column.key === key)?.label ?? '';
  return /(µs|ms|GB\/s|tasks\/s)/.exec(label)?.[1] ?? '';
}

function limitText(bar) {
  const limit = Number((bar.max ?? bar.min).toFixed(2));
  // A bar on a value itself is in µs unless it says otherwise (`unit: ''` for a count).
  return `${bar.max === undefined ? '≥' : '≤'} ${limit}${bar.vs === undefined ? (bar.unit ?? ' µs') : '×'}`;
}

/**
 * One row of the bars table: what was measured, the ratio, the limit and the verdict.
 * @param {SpecBar} bar
 * @param {Map<string, object>} scenarioById
 */
function barRow(bar, scenarioById) {
  if (bar.scenario === undefined) return [bar.bar, '', '', '', 'not measured: no cell yet'];
  const spec = specOf(bar.scenario);
  const result = scenarioById.get(bar.scenario);
  if (spec === undefined || result === undefined) {
    return [bar.bar, '', '', limitText(bar), 'not in this run'];
  }
  const byLib = byLibOf(result);
  const checked = checkBar(spec, byLib, bar);
  if (checked.pass === null) return [bar.bar, 'no result', '', limitText(bar), 'not measured'];
  const unit = unitOf(spec, bar.key);
  const withUnit = (value) => `${formatValue(value)} ${unit}`.trim();
  let measured = `${bar.lib} ${withUnit(byLib.get(bar.lib).metrics[bar.key])}`;
  let ratio = '';
  if (bar.vs !== undefined) {
    const ref = referenceValue(spec, byLib, bar.key, bar.vs);
    const refName = bar.vs === 'best' ? `best peer ${ref.lib}` : ref.lib;
    measured += ` vs ${refName} ${withUnit(ref.value)}`;
    ratio = `${checked.ratio.toFixed(2)}×`;
  }
  return [bar.bar, measured, ratio, limitText(bar), checked.pass ? '**met**' : '**missed**'];
}

function renderBars(document) {
  const scenarioById = new Map(document.scenarios.map((s) => [s.id, s]));
  const rows = kSpecBars.map((bar) => barRow(bar, scenarioById));
  // Text columns: not padded (the bar's wording is long), ratio and limit right-aligned.
  return [
    '| SPEC §6 bar | measured | ratio | bar | verdict |',
    '|---|---|--:|--:|---|',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

function firstLine(text) {
  return String(text ?? 'unknown error')
    .split('\n')[0]
    .slice(0, 200);
}

function renderSettings(spec, byLib) {
  return orderedLibs(spec, byLib).map((lib) => {
    const r = byLib.get(lib);
    if (!r.ok) return `- ${lib}: no result: ${firstLine(r.error)}`;
    const reps = r.reps > 1 ? ` (median of ${r.okReps} of ${r.reps} runs)` : '';
    return `- ${lib} ${r.version ?? ''}: ${r.settings ?? ''}${reps}`;
  });
}

function renderScenario(scenarioResult) {
  const spec = specOf(scenarioResult.id);
  if (spec === undefined) {
    return `### ${scenarioResult.title} [${scenarioResult.id}]\n\n(no table spec for this scenario in bench/scenarios.mjs)`;
  }
  const byLib = byLibOf(scenarioResult);
  return [
    `### ${spec.title} [${spec.id}]`,
    '',
    spec.note,
    '',
    renderTable(spec, byLib, 'no result (see settings)'),
    '',
    '<details><summary>Settings of each row</summary>',
    '',
    ...renderSettings(spec, byLib),
    '',
    '</details>',
  ].join('\n');
}

/** Library versions as the cells reported them (the first row of each that ran). */
function peerVersions(document) {
  const versions = new Map();
  for (const scenario of document.scenarios) {
    for (const result of scenario.results) {
      const name = result.lib.split('-')[0];
      if (kPeerNames.includes(name) && result.version && !versions.has(name)) {
        versions.set(name, result.version);
      }
    }
  }
  return [...versions].map(([name, version]) => `${name} ${version}`).join(', ');
}

function runDescription(document) {
  const { flags } = document;
  const mode = flags.quick
    ? '**quick** (`--quick`: a smoke run with few iterations; its figures only show that everything runs, and its verdicts mean little)'
    : '**full**';
  const repeat =
    flags.repeat > 1
      ? `each cell run ${flags.repeat} times in its own process; every figure is the median of those runs, per metric`
      : 'each cell run once, in its own process';
  const selection = [
    flags.only ? `only \`${flags.only}\`` : 'every scenario',
    flags.libs ? `only the rows \`${flags.libs}\`` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${mode}; ${repeat}; ${selection}`;
}

function commitText(commit) {
  return commit.endsWith('+dirty')
    ? `\`${commit.slice(0, -'+dirty'.length)}\` with uncommitted changes`
    : `\`${commit}\``;
}

/** A warning when the run started on a busy machine (1-minute load above half the cores). */
function loadWarning(m) {
  return m.loadAvg[0] > m.cpus / 2
    ? ' **The machine was busy when the run started: other work shared its cores, and the figures show it.**'
    : '';
}

function renderHeader(document) {
  const m = document.machine;
  const lines = [
    '<!-- Generated by bench/report.mjs from bench/results.json and bench/report-notes.md. Do not edit by hand: run `node bench/report.mjs` (see CONTRIBUTING.md). -->',
    '',
    '# keel benchmarks',
    '',
    'keel beside its peers and the raw platform, measured in one run of `npm run bench` on one',
    'machine. Every (scenario, library) pair ran in its own Node process, so that no library',
    "disturbs another's figures. Compare the **ratios** within a table: absolute times on a shared",
    'or virtual machine drift from run to run, ratios measured in one run hold.',
    '',
    '## What you are looking at',
    '',
    `- **Run:** ${runDescription(document)}.`,
    `- **Code:** commit ${commitText(m.commit)}${m.keelBuild && m.keelBuild !== 'not built' ? `, keel built ${m.keelBuild}` : ''}; run started ${m.date}.`,
    `- **Machine:** ${m.cpuModel}, ${m.cpus} cores${m.availableParallelism ? ` (availableParallelism ${m.availableParallelism})` : ''}, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node} (V8 ${m.v8}); load average at start ${m.loadAvg.join(' / ')}.${loadWarning(m)}`,
    `- **Peers:** ${peerVersions(document) || 'none in this run'}.`,
  ];
  if (document.source) lines.push(`- **Source of these figures:** ${document.source}`);
  return lines.join('\n');
}

const kHowToRun = `## How to run

\`\`\`sh
npm run bench -- --repeat=3 --write     # every scenario, 3 runs per cell (about 20 min), then this file
npm run bench -- --quick                # a smoke run: everything works, figures indicative only
npm run bench -- --only=frames-pool     # one scenario (or a group: pool, spawn, frames, shared-object, realtime)
node bench/report.mjs [results.json]    # this file again, from bench/results.json or the file given
\`\`\`

Run on an otherwise idle machine. Every run writes its results to \`.bench-results/latest.json\`;
\`--write\` keeps them in \`bench/results.json\` and makes this file from them.
[bench/README.md](bench/README.md) says what each scenario measures, how, and how to read a
ratio; rows in parentheses are baselines (the raw platform), not competitors; ↓ lower is better,
↑ higher is better.`;

/**
 * The whole report, as Markdown.
 * @param {object} document a results document of bench/index.mjs
 * @param {string} notes the hand-written Markdown of bench/report-notes.md
 */
export function renderReport(document, notes) {
  return [
    renderHeader(document),
    '',
    kHowToRun,
    '',
    '## SPEC §6 performance bars',
    '',
    "Each performance bar of keel's contract (SPEC §6), checked on the table it belongs to in this",
    'run. A bar measured on a machine with fewer cores than busy threads says as much about the',
    'machine as about keel: the notes below say which bars that is.',
    '',
    renderBars(document),
    '',
    notes.trim(),
    '',
    '## Results by scenario',
    '',
    ...document.scenarios.flatMap((scenario) => [renderScenario(scenario), '']),
  ].join('\n');
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * Keeps `document` as bench/results.json and writes BENCHMARKS.md from it.
 * @param {object} document
 */
export async function writeReport(document) {
  // The single runs (and their stderr) stay in .bench-results/latest.json on the machine that
  // made them: the report shows the aggregated results, and those are what is kept.
  const kept = { ...document, scenarios: document.scenarios.map(({ runs: _runs, ...s }) => s) };
  writeFileSync(kResultsFile, await formatJson(kept));
  writeFileSync(kReportFile, renderReport(kept, readFileSync(kNotesFile, 'utf8')));
}

/** JSON as the repository's formatter writes it, so that `npm run format:check` accepts it. */
async function formatJson(value) {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(kResultsFile)) ?? {};
  return prettier.format(JSON.stringify(value), { ...options, filepath: kResultsFile });
}

async function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const file = args.find((arg) => !arg.startsWith('--'));
  if (check) {
    const expected = renderReport(readJson(kResultsFile), readFileSync(kNotesFile, 'utf8'));
    if (readFileSync(kReportFile, 'utf8') !== expected) {
      console.error(
        'BENCHMARKS.md is not what bench/results.json and bench/report-notes.md make: run node bench/report.mjs',
      );
      process.exitCode = 1;
    }
    return;
  }
  const document = readJson(file === undefined ? kResultsFile : resolve(process.cwd(), file));
  await writeReport(document);
  console.log(
    `BENCHMARKS.md written from ${file ?? 'bench/results.json'} (${document.flags.quick ? 'quick' : 'full'} run, commit ${document.machine.commit}, ${document.machine.date})`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
