// `npm run demo`: a robot's control scene with no hardware, run four ways. A 1 kHz control
// loop steers an 8-joint arm toward what a policy (a small MLP, ~5 ms a call) asks for 100
// times a second, while a camera produces 480×848×3 frames at 60 Hz:
//   1. everything inline on the main thread;
//   2. the loop on the main thread (RealtimeLoop), the policy and the camera on keel workers
//      (spawn), frames through a SharedObject;
//   3. the loop itself on a worker (RealtimeLoop.inWorker), reading and writing SharedObjects;
//   4. as 3, the loop's worker at priority 'realtime' sleeping between ticks, the policy's at
//      'background' (where the OS refuses, at normal priority, and the row says so).
// It prints a table (or JSON) and writes an HTML report with histograms. See docs/demo.md.
//
//   node demo/index.mjs [--seconds=N] [--json] [--report=PATH]

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const kTargetPolicyMs = 5;
const kDefaultSeconds = 5;
const kMinSeconds = 0.5;
const kMaxSeconds = 600;
const kUsage = `usage: node demo/index.mjs [--seconds=N] [--json] [--report=PATH]
  --seconds=N     measured seconds per scenario (default ${kDefaultSeconds}; four scenarios)
  --json          print the results as JSON instead of a table
  --report=PATH   where to write the HTML report (default demo-report.html)`;

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const loadAverage = os.loadavg()[0] ?? 0; // before the demo adds its own load
  const scene = await loadScene();
  progress('calibrating the policy...');
  const policy = scene.calibratePolicy(kTargetPolicyMs);
  const scenarios = [];
  for (const { key, label, run } of scene.kScenarios) {
    progress(`${label}: ${options.seconds} s...`);
    scenarios.push({
      key,
      label,
      ...(await runScenario(run, { seconds: options.seconds, batch: policy.batch })),
    });
  }
  const run = {
    date: new Date().toISOString(),
    seconds: options.seconds,
    machine: machineFacts(loadAverage),
    policy: { description: scene.describePolicy(), targetMs: kTargetPolicyMs, ...policy },
    scenarios: scenarios.map((scenario) => scene.withHistograms(scenario)),
  };
  const reportNote = writeReport(options.report, scene.formatHtml(run));
  if (options.json) {
    console.log(scene.toJson(run));
    console.error(`keel demo: ${reportNote}`);
  } else console.log(`${scene.formatText(run)}\n\n${reportNote}`);
  if (scenarios.some((scenario) => scenario.notRun || scenario.error)) process.exitCode = 1;
}

/** Writes the HTML report; says where, or why it could not (the exit status is then 1). */
function writeReport(path, html) {
  const reportPath = resolve(path);
  try {
    writeFileSync(reportPath, html);
    return `report: ${reportPath}`;
  } catch (error) {
    process.exitCode = 1;
    return `report not written: ${error.message}`;
  }
}

/** The demo's modules, once keel is known to be built (they import it). */
async function loadScene() {
  try {
    const [scenarios, calibrate, analysis, text, html] = await Promise.all([
      import('./scene/scenarios.mjs'),
      import('./scene/calibrate.mjs'),
      import('./report/analysis.mjs'),
      import('./report/text.mjs'),
      import('./report/html.mjs'),
    ]);
    return { ...scenarios, ...calibrate, ...analysis, ...text, ...html };
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist'))
      throw error;
    console.error('keel demo: keel is not built (dist/ is missing): run `npm run build` first');
    process.exit(1);
  }
}

/** One scenario; a failure to set it up becomes a row that says why. */
async function runScenario(run, options) {
  try {
    return await run(options);
  } catch (error) {
    return { notRun: error.message, error };
  }
}

function machineFacts(loadAverage) {
  return {
    node: process.version,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? '?',
    loadAverage,
  };
}

function parseOptions(args) {
  try {
    const { values } = parseArgs({
      args,
      options: {
        seconds: { type: 'string', default: String(kDefaultSeconds) },
        json: { type: 'boolean', default: false },
        report: { type: 'string', default: 'demo-report.html' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      console.log(kUsage);
      process.exit(0);
    }
    const seconds = Number(values.seconds);
    if (!(seconds >= kMinSeconds && seconds <= kMaxSeconds)) {
      throw new Error(
        `--seconds must be a number from ${kMinSeconds} to ${kMaxSeconds}, got ${JSON.stringify(values.seconds)}`,
      );
    }
    if (values.report === '') throw new Error('--report must be a file path');
    return { seconds, json: values.json, report: values.report };
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
