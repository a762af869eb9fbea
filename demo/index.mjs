// `npm run demo`: a 1 kHz control loop on the main thread, measured (a) idle, (b) while a
// ~5 ms CPU-bound function runs inline at 100 Hz, and (c) while the same function runs on a
// keel Pool at 100 Hz. See docs/demo.md for how to read the output.
//
//   node demo/index.mjs [--seconds=N] [--json]

import os from 'node:os';
import { parseArgs } from 'node:util';
import * as policy from './workloads/policy.mjs';
import { formatReport, toJson } from './report.mjs';
import {
  calibrateWork,
  idleLoad,
  inlineLoad,
  poolLoad,
  runScenario,
  warmPool,
} from './scenarios.mjs';

const kTargetWorkMs = 5;
const kWarmupMs = 300; // the loop and its load run this long before each measured window
const kPoolWarmupCalls = 20; // lets V8 optimise forward() in the worker before measuring
const kCloseTimeoutMs = 5000;
const kMinSeconds = 0.1; // at least 10 calls of the work per scenario
const kMaxSeconds = 600;
const kUsage = `usage: node demo/index.mjs [--seconds=N] [--json]
  --seconds=N  measured seconds per scenario (default 3)
  --json       print the results as JSON instead of a table`;

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const loadAverage = os.loadavg()[0] ?? 0; // before the demo adds its own load
  progress('calibrating the work...');
  const work = calibrateWork(policy, kTargetWorkMs);
  const measure = async (label, load) => {
    progress(`${label}: ${(kWarmupMs / 1000 + options.seconds).toFixed(1)} s...`);
    return runScenario({ seconds: options.seconds, warmupMs: kWarmupMs, load });
  };
  const scenarios = [
    { key: 'idle', label: '(a) idle', ...(await measure('(a) idle', idleLoad())) },
    { key: 'inline', label: '(b) inline', ...(await measure('(b) inline', inlineLoad(work))) },
    { key: 'pool', label: '(c) keel Pool', ...(await measurePool(work, measure)) },
  ];
  const run = {
    seconds: options.seconds,
    machine: {
      node: process.version,
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? '?',
      loadAverage,
    },
    work: {
      description: describePolicy(policy),
      batch: work.batch,
      targetMs: kTargetWorkMs,
      calibratedMs: work.calibratedMs,
    },
    scenarios,
  };
  console.log(options.json ? toJson(run) : formatReport(run));
  if (scenarios.some((scenario) => scenario.notRun || scenario.error)) process.exitCode = 1;
  // A worker that would not close keeps the process alive: leave once the output is flushed.
  if (scenarios.some((scenario) => scenario.closeHung))
    process.stdout.write('', () => process.exit(1));
}

function describePolicy({ kObservationSize, kHiddenSize, kActionSize }) {
  return `MLP forward pass ${kObservationSize}→${kHiddenSize}→${kHiddenSize}→${kActionSize} (float64)`;
}

/** Scenario (c): a one-thread keel Pool, warmed up, measured, then closed. */
async function measurePool(work, measure) {
  let Pool;
  try {
    ({ Pool } = await import('../dist/index.js'));
    if (typeof Pool !== 'function') throw new Error('dist/index.js does not export Pool');
  } catch (error) {
    return { notRun: `keel is not built or has no Pool (${error.message}); run \`npm run build\`` };
  }
  let pool;
  let result;
  try {
    pool = new Pool({ minThreads: 1, maxThreads: 1 });
    const moduleUrl = new URL('./workloads/policy.mjs', import.meta.url);
    const target = { pool, moduleUrl, ...work };
    await warmPool(target, kPoolWarmupCalls);
    result = await measure('(c) keel Pool', poolLoad(target));
  } catch (error) {
    result = { notRun: `the pool failed before the measurement: ${error.message}`, error };
  }
  return pool && (await closeOrGiveUp(pool)) ? { ...result, closeHung: true } : result;
}

/** A demo must end: if close() hangs, say so; main() then exits with an error status. */
async function closeOrGiveUp(pool) {
  let timer;
  const gaveUp = new Promise((resolve) => (timer = setTimeout(resolve, kCloseTimeoutMs, true)));
  const hung = await Promise.race([pool.close().then(() => false), gaveUp]);
  clearTimeout(timer);
  if (hung) console.error(`keel demo: pool.close() did not finish within ${kCloseTimeoutMs} ms`);
  return hung;
}

function parseOptions(args) {
  try {
    const { values } = parseArgs({
      args,
      options: {
        seconds: { type: 'string', default: '3' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      console.log(kUsage);
      process.exit(0);
    }
    const seconds = Number(values.seconds);
    if (!(seconds >= kMinSeconds && seconds <= kMaxSeconds)) {
      const range = `${kMinSeconds} to ${kMaxSeconds}`;
      throw new Error(
        `--seconds must be a number from ${range}, got ${JSON.stringify(values.seconds)}`,
      );
    }
    return { seconds, json: values.json };
  } catch (error) {
    console.error(`keel demo: ${error.message}\n${kUsage}`);
    process.exit(2);
  }
}

/** Progress goes to stderr, and only to a terminal: stdout stays the table or the JSON. */
function progress(message) {
  if (process.stderr.isTTY) console.error(`keel demo: ${message}`);
}

await main();
