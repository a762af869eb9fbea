// The demo's results for a terminal: a header, one table row per scenario, a legend and a few
// sentences computed from the figures. And the same results as JSON (--json).

import { count, describeError, micros, millis, percentOf, triple } from './format.mjs';

const kLineWidth = 100;
const kGap = '  ';
const kBusyLoadPerCpu = 0.5; // a load average above this per CPU means the figures are contended

/** The whole run as text. */
export function formatText(run) {
  return [
    ...header(run),
    '',
    ...table(run.scenarios),
    '',
    ...legend(run),
    ...busyMachineWarning(run.machine),
    '',
    ...conclusions(run.scenarios).flatMap((sentence) => wrap(sentence, kLineWidth)),
  ].join('\n');
}

export function header(run) {
  const { machine, policy } = run;
  return [
    `keel demo: a robot's 1 kHz control loop, a 100 Hz policy and a 60 Hz camera, ${run.seconds} s per scenario`,
    `machine: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, load average ` +
      `${machine.loadAverage.toFixed(2)} before the run`,
    `policy: ${policy.description}, batch ${policy.batch}, ${policy.calibratedMs.toFixed(1)} ms a call here`,
    'camera: 480×848×3 uint8 frames (1.2 MB) at 60 Hz',
  ];
}

// The table's columns, each with its two header lines: its name, then its unit or detail.
const kColumns = [
  ['scenario', ''],
  ['loop ticks', 'run / due'],
  ['missed', ''],
  ['tick jitter µs', 'p50 / p99 / max'],
  ['longest', 'gap ms'],
  ['event-loop delay ms', 'p50 / p99 / max'],
  ['policy', 'calls / due'],
  ['frames', 'seen / sent'],
];
const kTableHead = [kColumns.map(([name]) => name), kColumns.map(([, detail]) => detail)];

function table(scenarios) {
  const head = kTableHead;
  const rows = scenarios.map(tableRow);
  const full = [...head, ...rows.filter((row) => row.length === head[0].length)];
  const widths = head[0].map((_, column) =>
    Math.max(...(column === 0 ? [...head, ...rows] : full).map((row) => row[column].length)),
  );
  const render = (row) =>
    row.length < widths.length
      ? `${row[0].padEnd(widths[0])}${kGap}${row.slice(1).join(' ')}`
      : row
          .map((cell, column) =>
            column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]),
          )
          .join(kGap)
          .trimEnd();
  const rule = widths.map((width) => '─'.repeat(width)).join(kGap);
  return [...head.map(render), rule, ...rows.map(render)];
}

/** One row's cells; a scenario that could not run has its label and the reason only. */
export function tableRow(scenario) {
  if (scenario.notRun) return [scenario.label, `not run: ${scenario.notRun}`];
  const { loop, eventLoop, policy, camera } = scenario;
  return [
    scenario.label,
    `${count(loop.ticks)} / ${count(loop.due)}`,
    count(loop.missed),
    triple(loop.jitterUs, micros),
    millis(scenario.longestGapMs),
    triple(eventLoop.delayMs, millis),
    `${count(policy.calls)} / ${count(scenario.expectedPolicyCalls)}`,
    `${count(camera.seen)} / ${count(camera.published)}`,
  ];
}

function legend(run) {
  return [
    '1: the main thread does everything: the loop calls the policy inline every 10 ms and renders',
    '   the frame every 1/60 s.  2: the loop stays on the main thread (RealtimeLoop); the policy is',
    '   a spawned worker asked without waiting, the camera another worker assigning a SharedObject.',
    '   3: the loop runs on its own worker (RealtimeLoop.inWorker, spinUs 1000: the worker keeps',
    '   its CPU) and talks through SharedObjects; the main thread relays observations to the policy',
    "   and actions back at 100 Hz.  4: as 3, but the loop worker has priority 'realtime' (SCHED_FIFO",
    "   80) and sleeps between ticks (the default spinUs 200), the policy's worker priority",
    "   'background' (SCHED_IDLE). Where the OS refuses, it runs at normal priority and says so.",
    'ticks: run / due (every 1 ms deadline while the loop ran); missed: skipped, a period late.',
    'tick jitter: how long after its deadline each tick ran (RealtimeLoop stats(), under 1 ms by',
    '   construction: a later tick is missed instead). longest gap: between two consecutive ticks.',
    'event-loop delay: monitorLoop on the main thread (how late its 1 ms timer ran).',
    `policy: calls answered / due at 100 Hz (one ${run.policy.calibratedMs.toFixed(1)} ms forward pass each).`,
    "frames: frames the loop's vision looked at / frames the camera published meanwhile (by index).",
  ];
}

export function busyMachineWarning({ loadAverage, cpus }) {
  if (loadAverage < kBusyLoadPerCpu * cpus) return [];
  return [
    `Warning: other programs were using the CPUs (load average ${loadAverage.toFixed(2)} on ${cpus} CPUs):`,
    '  expect noisier figures, and run again on a quiet machine before comparing rows.',
  ];
}

/** Plain sentences computed from the figures. */
export function conclusions(scenarios) {
  return scenarios.flatMap((scenario) => {
    if (scenario.notRun) return [`${scenario.label}: not run (${scenario.notRun}).`];
    const { loop, eventLoop, policy } = scenario;
    const lost = `the loop missed ${count(loop.missed)} ticks (${percentOf(loop.missed, loop.missed + loop.ticks)}), its longest gap was ${millis(scenario.longestGapMs)} ms`;
    const delay = `the main thread's event loop ran up to ${millis(eventLoop.delayMs.max)} ms late (p99 ${millis(eventLoop.delayMs.p99)} ms)`;
    const call = policy.callMs
      ? policy.where === 'inline'
        ? `each policy call held the main thread for ${millis(policy.callMs.p50)} ms (p50)`
        : `the policy answered from its worker in ${millis(policy.callMs.p50)} ms (p50)`
      : 'no policy call completed';
    const failure = scenario.error ? ` A call failed: ${describeError(scenario.error)}.` : '';
    const scheduled = scenario.schedulingNote ? ` Scheduling: ${scenario.schedulingNote}.` : '';
    return [`${scenario.label}: ${call}; ${lost}; ${delay}.${failure}${scheduled}`];
  });
}

/**
 * The run as plain JSON data, numbers to three decimals. Errors become { name, message, code };
 * histogram bin edges are left out (they follow from `low`, `high` and `binsPerDecade`).
 */
export function toJson(run) {
  return JSON.stringify(
    run,
    (key, value) => {
      if (key === 'edges') return undefined;
      if (value instanceof Error)
        return { name: value.name, message: value.message, code: value.code };
      return typeof value === 'number' && !Number.isInteger(value)
        ? Math.round(value * 1000) / 1000
        : value;
    },
    2,
  );
}

/** Words of `text` in lines of at most `width` characters, continuation lines indented. */
function wrap(text, width) {
  const lines = [''];
  for (const word of text.split(' ')) {
    const last = lines[lines.length - 1];
    if (last.trim() !== '' && last.length + 1 + word.length > width) lines.push(`    ${word}`);
    else lines[lines.length - 1] = last === '' ? word : `${last} ${word}`;
  }
  return lines;
}
