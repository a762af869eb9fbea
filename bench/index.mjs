// keel's benchmark runner (`npm run bench`). Runs every (scenario, library) cell in its own
// child process, so that no library's threads, JIT state or GC heap colours another's
// figures, then prints keel beside its peers with ratios, and writes all results as JSON.
//
//   node bench/index.mjs [--only=pool,pool-latency] [--libs=keel,piscina] [--quick]
//                        [--repeat=3] [--json=out.json] [--write] [--list]
//
// --write keeps the results in bench/results.json and makes BENCHMARKS.md from them
// (bench/report.mjs).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseFlags, kResultTag } from './lib/measure.mjs';
import {
  aggregateReps,
  checkBar,
  formatMachineInfo,
  machineInfo,
  renderScenario,
  rowsOf,
} from './lib/report.mjs';
import { writeReport } from './report.mjs';
import { scenarios } from './scenarios.mjs';

const kRoot = fileURLToPath(new URL('../', import.meta.url));
const kCells = fileURLToPath(new URL('./cells/', import.meta.url));
const kLatestFile = resolve(kRoot, '.bench-results/latest.json');

const flags = parseFlags();
const quick = flags.quick === true;
const repeat = Math.max(1, Number.parseInt(String(flags.repeat ?? '1'), 10) || 1);

function listOf(flag) {
  return typeof flag === 'string'
    ? flag
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

/** Scenarios chosen by --only (ids or groups), in catalogue order. */
function selectScenarios() {
  const only = listOf(flags.only);
  if (only === undefined) return scenarios;
  const unknown = only.filter((name) => !scenarios.some((s) => s.id === name || s.group === name));
  if (unknown.length > 0) {
    throw new Error(
      `--only: unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.id).join(', ')}`,
    );
  }
  return scenarios.filter((s) => only.includes(s.id) || only.includes(s.group));
}

/** Libraries (rows) of a scenario: its subject, other keel rows, peers and baselines, or --libs. */
function libsOf(spec) {
  return listOf(flags.libs) ?? rowsOf(spec);
}

/**
 * Runs one cell in a fresh Node process and returns its result line (or an error result).
 * @param {import('./lib/report.mjs').ScenarioSpec} spec
 * @param {string} lib
 */
function runCellProcess(spec, lib) {
  const args = [resolve(kCells, spec.cell), `--lib=${lib}`, ...(quick ? ['--quick'] : [])];
  const timeoutMs = quick ? spec.timeoutMs / 4 : spec.timeoutMs;
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { cwd: kRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = lastResultLine(stdout);
      if (result !== undefined) return resolvePromise({ ...result, stderr: stderr || undefined });
      const why =
        signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : `exited with ${signal ?? code}`;
      resolvePromise({
        scenario: spec.id,
        lib,
        ok: false,
        error: `${why}: ${stderr.trim().slice(-2000)}`,
      });
    });
  });
}

function lastResultLine(stdout) {
  const lines = stdout.split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line);
      if (parsed.tag === kResultTag) {
        delete parsed.tag;
        return parsed;
      }
    } catch {
      // Not ours: a library printed a line that starts with "{".
    }
  }
  return undefined;
}

/** One progress line per finished cell, so a long run shows life and early failures. */
function progressLine(result, elapsedMs) {
  const m = result.metrics ?? {};
  const headline = result.ok
    ? Object.entries(m)
        .filter(([k]) =>
          ['p50Us', 'p99Us', 'tasksPerSec', 'cpuUsPerTask', 'mainUsPerFrame', 'gbPerSec'].includes(
            k,
          ),
        )
        .map(([k, v]) => `${k}=${typeof v === 'number' ? v.toFixed(1) : v}`)
        .join(' ')
    : `ERROR ${String(result.error).split('\n')[0]}`;
  return `  ${result.scenario.padEnd(18)} ${result.lib.padEnd(22)} ${headline} (${(elapsedMs / 1000).toFixed(1)} s)`;
}

/**
 * Runs every repetition of a scenario. Each repetition rotates the library order, so slow
 * drift of a shared machine does not always fall on the same library.
 */
async function runScenario(spec) {
  const libs = libsOf(spec);
  /** @type {Map<string, object[]>} */
  const reps = new Map(libs.map((lib) => [lib, []]));
  for (let rep = 0; rep < repeat; rep++) {
    const order = libs.map((_, i) => libs[(i + rep) % libs.length]);
    for (const lib of order) {
      const t0 = Date.now();
      const result = await runCellProcess(spec, lib);
      reps.get(lib).push({ ...result, rep: rep + 1 });
      console.log(progressLine(result, Date.now() - t0));
    }
  }
  const byLib = new Map(libs.map((lib) => [lib, aggregateReps(reps.get(lib))]));
  return { byLib, raw: [...reps.values()].flat() };
}

function writeJson(file, document) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
}

async function main() {
  if (flags.list) {
    for (const s of scenarios) console.log(`${s.id.padEnd(20)} [${s.group}] ${s.title}`);
    return;
  }
  const selected = selectScenarios();
  const machine = machineInfo();
  console.log(formatMachineInfo(machine));
  console.log(
    `mode: ${quick ? 'quick (smoke run: few iterations, figures indicative only)' : 'full'}; ${repeat} run(s) per cell, each in its own process\n`,
  );
  const document = {
    machine,
    flags: { quick, repeat, only: flags.only ?? null, libs: flags.libs ?? null },
    scenarios: [],
  };
  for (const spec of selected) {
    const { byLib, raw } = await runScenario(spec);
    console.log(`\n${renderScenario(spec, byLib)}\n`);
    document.scenarios.push({
      id: spec.id,
      title: spec.title,
      results: [...byLib.values()],
      bars: spec.bars.map((bar) => ({ text: bar.text, ...checkBar(spec, byLib, bar) })),
      runs: raw,
    });
  }
  writeJson(kLatestFile, document);
  // A cell that never produced a result fails the run (CI smoke runs rely on it); a missed
  // bar does not, since one noisy run on a shared machine is no verdict.
  const failed = document.scenarios.flatMap((s) =>
    s.results.filter((r) => !r.ok).map((r) => `${s.id}/${r.lib}`),
  );
  if (failed.length > 0) {
    console.error(`failed cells: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
  if (typeof flags.json === 'string') writeJson(resolve(process.cwd(), flags.json), document);
  console.log(
    `results: ${kLatestFile}${typeof flags.json === 'string' ? ` and ${flags.json}` : ''}`,
  );
  if (flags.write === true) {
    await writeReport(document);
    console.log('BENCHMARKS.md written from these results (kept in bench/results.json)');
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
