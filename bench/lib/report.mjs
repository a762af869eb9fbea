// Orchestrator-side presentation: machine facts, aggregation of repeated runs, ratio
// columns, SPEC bar checks and aligned (Markdown-compatible) tables.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import os from 'node:os';

/**
 * @typedef {{ key: string, label: string, better: 'lower' | 'higher', format?: 'us' | 'int' | 'ms' }} ColumnSpec
 * @typedef {{ key: string, vs: string, refKey?: string, label?: string }} RatioSpec
 * @typedef {{ key: string, lib?: string, vs?: string, max?: number, min?: number, text: string }} BarSpec
 * @typedef {{ id: string, group: string, title: string, note: string, cell: string,
 *   subject: string, others?: string[], peers: string[], baselines: string[],
 *   labels?: Record<string, string>, columns: ColumnSpec[], ratios: RatioSpec[], bars: BarSpec[],
 *   timeoutMs: number }} ScenarioSpec
 * @typedef {{ scenario: string, lib: string, ok: boolean, metrics?: Record<string, number | null>,
 *   settings?: string, version?: string, error?: string, reps?: number, okReps?: number }} CellResult
 */

/** Facts that make a run's numbers interpretable later: hardware, runtime, load, commit. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit: gitCommit(),
    keelBuild: keelBuildTime(),
  };
}

/** When dist/ was last built: several contributors rebuild it, so a run records which build it saw. */
function keelBuildTime() {
  try {
    return statSync(new URL('../../dist/index.js', import.meta.url)).mtime.toISOString();
  } catch {
    return 'not built';
  }
}

function gitCommit() {
  try {
    const run = (args) => execFileSync('git', args, { encoding: 'utf8', stdio: 'pipe' }).trim();
    const head = run(['rev-parse', '--short', 'HEAD']);
    return run(['status', '--porcelain']) === '' ? head : `${head}+dirty`;
  } catch {
    return 'unknown';
  }
}

/** @param {ReturnType<typeof machineInfo>} info */
export function formatMachineInfo(info) {
  return [
    `keel bench — ${info.date}`,
    `CPU: ${info.cpuModel}, ${info.cpus} cores (availableParallelism ${info.availableParallelism}), ${info.memoryGiB} GiB`,
    `OS: ${info.os}; Node ${info.node} (V8 ${info.v8}); load avg ${info.loadAvg.join(' / ')}; commit ${info.commit}; dist built ${info.keelBuild}`,
  ].join('\n');
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Folds the repetitions of one (scenario, library) cell into one result: the median of each
 * metric over the successful repetitions (robust to one repetition landing in the slow
 * wake-up mode). With a single repetition this is that repetition.
 * @param {CellResult[]} reps
 * @returns {CellResult}
 */
export function aggregateReps(reps) {
  const ok = reps.filter((r) => r.ok && r.metrics !== undefined);
  // Per-repetition fields (rep number, stderr) stay in the raw runs, not in the summary.
  const { rep: _rep, stderr: _stderr, ...first } = ok[0] ?? reps[0];
  if (ok.length === 0) return { ...first, reps: reps.length, okReps: 0 };
  /** @type {Record<string, number | null>} */
  const metrics = {};
  for (const key of Object.keys(ok[0].metrics)) {
    const values = ok.map((r) => r.metrics[key]).filter((v) => typeof v === 'number');
    metrics[key] = values.length === 0 ? null : median(values);
  }
  return { ...first, ok: true, metrics, reps: reps.length, okReps: ok.length };
}

/**
 * The value a ratio is taken against: a named library's, or the best peer's for that key.
 * @param {ScenarioSpec} spec
 * @param {Map<string, CellResult>} byLib
 * @param {string} key
 * @param {string} vs
 * @returns {{ lib: string, value: number } | undefined}
 */
export function referenceValue(spec, byLib, key, vs) {
  const better = spec.columns.find((c) => c.key === key)?.better ?? 'lower';
  const candidates = vs === 'best' ? spec.peers : [vs];
  let best;
  for (const lib of candidates) {
    const value = byLib.get(lib)?.metrics?.[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    const wins =
      best === undefined || (better === 'lower' ? value < best.value : value > best.value);
    if (wins) best = { lib, value };
  }
  return best;
}

/** @param {number | null | undefined} value @param {ColumnSpec['format']} format */
export function formatValue(value, format = 'us') {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  if (format === 'int') return Math.round(value).toLocaleString('en-US');
  // Three significant digits: more would only show the noise of a shared machine.
  if (Math.abs(value) >= 999.5) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

export function formatRatio(value, ref) {
  if (typeof value !== 'number' || ref === undefined || ref.value === 0) return '—';
  return `${(value / ref.value).toFixed(2)}×`;
}

/** Header of a ratio column: its own label, or "<metric> ÷ <reference>". */
export function ratioLabel(spec, ratio) {
  if (ratio.label !== undefined) return ratio.label;
  return `${columnLabel(spec, ratio.key)} ÷ ${ratio.vs === 'best' ? 'best peer' : ratio.vs}`;
}

/** Short name of a metric in ratio headers: the column label without a trailing " µs". */
function columnLabel(spec, key) {
  return spec.columns.find((c) => c.key === key)?.label.replace(/ µs$/, '') ?? key;
}

/** Every row a scenario runs: subject, other keel rows, peers, then baselines. */
export function rowsOf(spec) {
  return [spec.subject, ...(spec.others ?? []), ...spec.peers, ...spec.baselines];
}

/** Rows in display order (see rowsOf); libraries absent from the run are skipped. */
export function orderedLibs(spec, byLib) {
  return [...rowsOf(spec), ...byLib.keys()].filter(
    (lib, i, all) => byLib.has(lib) && all.indexOf(lib) === i,
  );
}

/**
 * Renders one scenario's table, its settings and its summary as text.
 * @param {ScenarioSpec} spec
 * @param {Map<string, CellResult>} byLib
 */
export function renderScenario(spec, byLib) {
  return [
    `## ${spec.title} [${spec.id}]`,
    spec.note,
    '',
    renderTable(spec, byLib, 'error (below)'),
    '',
    ...renderSettings(spec, byLib),
    ...renderSummary(spec, byLib),
  ].join('\n');
}

/**
 * One scenario's table: keel's rows, the peers, the baselines (in parentheses), with the
 * ratio columns. `failed` fills the row of a cell that gave no result.
 * @param {ScenarioSpec} spec
 * @param {Map<string, CellResult>} byLib
 * @param {string} failed
 */
export function renderTable(spec, byLib, failed) {
  const arrow = (better) => (better === 'lower' ? '↓' : '↑');
  const header = [
    'library',
    ...spec.columns.map((c) => `${c.label} ${arrow(c.better)}`),
    ...spec.ratios.map((r) => ratioLabel(spec, r)),
  ];
  const refs = spec.ratios.map((r) => referenceValue(spec, byLib, r.refKey ?? r.key, r.vs));
  const rows = orderedLibs(spec, byLib).map((lib) => {
    const result = byLib.get(lib);
    const label = spec.labels?.[lib] ?? lib;
    if (!result.ok) return [label, failed];
    return [
      spec.baselines.includes(lib) ? `(${label})` : label,
      ...spec.columns.map((c) => formatValue(result.metrics[c.key], c.format)),
      ...spec.ratios.map((r, i) => formatRatio(result.metrics[r.key], refs[i])),
    ];
  });
  return alignTable(header, rows);
}

function firstLine(text) {
  return String(text ?? 'unknown error')
    .split('\n')[0]
    .slice(0, 160);
}

function renderSettings(spec, byLib) {
  return orderedLibs(spec, byLib)
    .map((lib) => byLib.get(lib))
    .map((r) => {
      if (!r.ok) return `  ${r.lib}: error: ${firstLine(r.error)}`;
      const reps = r.reps > 1 ? `; median of ${r.okReps}/${r.reps} runs` : '';
      // Not part of any figure, but a close() that hangs is worth knowing about.
      const hung = r.metrics.closeMs === null ? '; close() did not finish within 10 s' : '';
      return `  ${r.lib} ${r.version}: ${r.settings}${reps}${hung}`;
    });
}

/**
 * One line per ratio for the subject, then one per SPEC bar with PASS / FAIL.
 * @param {ScenarioSpec} spec
 * @param {Map<string, CellResult>} byLib
 */
export function renderSummary(spec, byLib) {
  const subject = byLib.get(spec.subject);
  if (subject === undefined) return [];
  if (!subject.ok) return [`=> ${spec.subject}: not measured (${firstLine(subject.error)})`];
  const lines = spec.ratios.map((r) => {
    const ref = referenceValue(spec, byLib, r.refKey ?? r.key, r.vs);
    if (ref === undefined) {
      return `=> ${spec.subject} ${columnLabel(spec, r.key)}: no ratio (${r.vs === 'best' ? 'no peer measured' : `${r.vs} not measured`})`;
    }
    const refName = r.vs === 'best' ? `best peer ${ref.lib}` : ref.lib;
    const better =
      spec.columns.find((c) => c.key === r.key)?.better === 'higher' ? 'higher' : 'lower';
    const ratio = formatRatio(subject.metrics[r.key], ref);
    const what = r.label ?? `${columnLabel(spec, r.key)}: ${ratio} of ${refName}'s`;
    return `=> ${spec.subject} ${r.label === undefined ? what : `${what}: ${ratio}`} (${better} is better)`;
  });
  for (const bar of spec.bars) lines.push(`=> ${checkBar(spec, byLib, bar).line}`);
  return lines;
}

/**
 * Checks one SPEC bar on its row (`bar.lib`, default the subject): the row's value divided by
 * the reference (`vs`: a library or 'best' peer) within [min, max]; without `vs`, the value
 * itself (an absolute bar, e.g. "under 1 µs").
 * @param {ScenarioSpec} spec
 * @param {Map<string, CellResult>} byLib
 * @param {BarSpec} bar
 * @returns {{ pass: boolean | null, ratio: number | null, line: string }}
 */
export function checkBar(spec, byLib, bar) {
  const value = byLib.get(bar.lib ?? spec.subject)?.metrics?.[bar.key];
  const ref =
    bar.vs === undefined ? { lib: '', value: 1 } : referenceValue(spec, byLib, bar.key, bar.vs);
  if (typeof value !== 'number' || ref === undefined) {
    return { pass: null, ratio: null, line: `${bar.text}: not checked (missing data)` };
  }
  const ratio = value / ref.value;
  const pass =
    (bar.max === undefined || ratio <= bar.max) && (bar.min === undefined || ratio >= bar.min);
  const limit = bar.max !== undefined ? `≤ ${round3(bar.max)}` : `≥ ${round3(bar.min)}`;
  const shown =
    bar.vs === undefined ? `${formatValue(value)} (${limit})` : `${ratio.toFixed(2)}× (${limit})`;
  const line = `${bar.text}: ${shown} ${pass ? 'PASS' : 'FAIL'}`;
  return { pass, ratio, line };
}

function round3(x) {
  return Math.round(x * 1000) / 1000;
}

/** A Markdown table padded so that it also reads as a table in a terminal. */
export function alignTable(header, rows) {
  const width = header.length;
  const cells = [
    header,
    ...rows.map((r) => (r.length === width ? r : [...r, ...Array(width - r.length).fill('')])),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r) =>
    `| ${r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}
