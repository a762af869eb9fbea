// How the demo's results are shown: a table a person reads at a glance, a few sentences that
// say what it means, or (with --json) the same figures for a program.

const kLineWidth = 100;
const kGap = '  '; // between table columns: the table fits in about 100 columns
const kBusyLoadPerCpu = 0.5; // a load average above this per CPU means the figures are contended

/** The whole run as text: header, table, legend, conclusions. */
export function formatReport(run) {
  const lines = [
    `keel demo: a 1 kHz control loop on the main thread, ${run.seconds} s per scenario`,
    `machine: ${run.machine.cpus} × ${run.machine.cpuModel}, Node ${run.machine.node}, ` +
      `load average ${run.machine.loadAverage.toFixed(2)} before the run`,
    `work: ${run.work.description}, batch ${run.work.batch}, ` +
      `${run.work.calibratedMs.toFixed(1)} ms per call on this machine`,
    '',
    ...formatTable(run.scenarios),
    '',
    '(a) the loop alone. (b) the loop also calls the work inline at 100 Hz. (c) the loop sends the',
    '    same calls to a keel Pool (one worker thread) at 100 Hz and does not wait for the answers.',
    'ticks: loop iterations made / 1 ms deadlines in the window; a busy loop skips deadlines.',
    'tick lateness: how long after its deadline each tick ran.',
    'event-loop delay: monitorEventLoopDelay (resolution 1 ms) minus its 1 ms sampling period.',
    `offloaded: pool.run() round trip as the main thread sees it (the work alone: ` +
      `${run.work.calibratedMs.toFixed(1)} ms).`,
    'max: a few ms in any row is the machine itself (a VM stalls even a spinning thread that long).',
    ...busyMachineWarning(run.machine),
    '',
    ...formatConclusions(run.scenarios).flatMap((sentence) => wrap(sentence, kLineWidth)),
  ];
  return lines.join('\n');
}

/** Figures taken while other programs compete for the CPUs say more about them than keel. */
function busyMachineWarning({ loadAverage, cpus }) {
  if (loadAverage < kBusyLoadPerCpu * cpus) return [];
  return [
    `Warning: other programs were using the CPUs (load average ${loadAverage.toFixed(2)} on ` +
      `${cpus} CPUs):`,
    '  expect noisier figures, and run again on a quiet machine before comparing rows.',
  ];
}

function formatTable(scenarios) {
  const header = [
    ['scenario', 'ticks', 'tick lateness µs', 'event-loop delay ms', 'work calls', 'offloaded ms'],
    ['', 'got / expected', 'p50 / p99 / max', 'p50 / p99 / max', 'got / expected', 'p50 / p99'],
  ];
  const rows = scenarios.map(tableRow);
  const complete = [...header, ...rows.filter((row) => row.length === header[0].length)];
  const widths = header[0].map((_, column) =>
    Math.max(...(column === 0 ? [...header, ...rows] : complete).map((row) => row[column].length)),
  );
  // A scenario that did not run has only a label and a reason, written across the columns.
  const render = (row) =>
    row.length < widths.length
      ? `${row[0].padEnd(widths[0])}${kGap}${row.slice(1).join(' ')}`
      : row
          .map((cell, column) => pad(cell, widths[column], column))
          .join(kGap)
          .trimEnd();
  const rule = widths.map((width) => '─'.repeat(width)).join(kGap);
  return [...header.map(render), rule, ...rows.map(render)];
}

function tableRow(scenario) {
  if (scenario.notRun) return [scenario.label, `not run: ${scenario.notRun}`];
  return [
    scenario.label,
    `${count(scenario.ticks.got)} / ${count(scenario.ticks.expected)}`,
    triple(scenario.tickLatenessUs, micros),
    triple(scenario.eventLoopDelayMs, (ms) => ms.toFixed(2)),
    scenario.calls ? `${count(scenario.calls.got)} / ${count(scenario.calls.expected)}` : '—',
    scenario.offloadedCallMs ? pair(scenario.offloadedCallMs) : '—',
  ];
}

/** Plain sentences computed from the figures: what the inline and pool rows show. */
function formatConclusions(scenarios) {
  const byKey = Object.fromEntries(scenarios.map((scenario) => [scenario.key, scenario]));
  const lines = [];
  const { idle, inline, pool } = byKey;
  if (inline && !inline.notRun) {
    lines.push(
      `(b) inline: each call held the main thread for ${inline.inlineCallMs.p50.toFixed(1)} ms (p50); ` +
        `the loop lost ${lost(inline.ticks)}, and 1 in 100 ran at least ` +
        `${millis(inline.tickLatenessUs.p99)} ms late.`,
    );
  }
  if (pool?.error) lines.push(`(c) keel Pool failed: ${describeError(pool.error)}`);
  else if (pool && !pool.notRun) {
    const idleNote = idle?.tickLatenessUs ? ` (idle: ${millis(idle.tickLatenessUs.p99)} ms)` : '';
    const answerMs = pool.offloadedCallMs ? pool.offloadedCallMs.p50.toFixed(1) : '?';
    // pool.stats() covers the pool's whole life (warm-up included): only its p50 is quoted.
    const runMs = pool.poolStats?.runTimeMs?.p50;
    const runNote =
      typeof runMs === 'number' ? `, ${runMs.toFixed(1)} ms of it in the function` : '';
    const skippedNote =
      pool.calls.skippedBusy > 0
        ? ` ${pool.calls.skippedBusy} of the 100 Hz calls were skipped: the previous answer was late.`
        : '';
    lines.push(
      `(c) keel Pool: the same calls ran on a worker thread and answered in ${answerMs} ms (p50${runNote}); ` +
        `the loop lost ${lost(pool.ticks)}, and 1 in 100 ran at least ` +
        `${millis(pool.tickLatenessUs.p99)} ms late${idleNote}.${skippedNote}`,
    );
  }
  return lines;
}

/** The run as plain JSON data (errors become { name, message, code }). */
export function toJson(run) {
  return JSON.stringify(
    run,
    (_key, value) => {
      if (value instanceof Error)
        return { name: value.name, message: value.message, code: value.code };
      // Three decimals: nanoseconds for µs figures, microseconds for ms figures.
      return typeof value === 'number' && !Number.isInteger(value)
        ? Math.round(value * 1000) / 1000
        : value;
    },
    2,
  );
}

function describeError(error) {
  return `${error.name}${error.code ? ` [${error.code}]` : ''}: ${error.message}`;
}

function lost({ got, expected }) {
  const lostTicks = expected - got;
  return `${count(lostTicks)} of ${count(expected)} ticks (${Math.round((100 * lostTicks) / expected)}%)`;
}

function triple(summary, format) {
  return summary ? `${format(summary.p50)} / ${format(summary.p99)} / ${format(summary.max)}` : '—';
}

function pair(summary) {
  return `${summary.p50.toFixed(1)} / ${summary.p99.toFixed(1)}`;
}

/** Microseconds: one decimal below 10 µs, whole numbers with separators above. */
function micros(us) {
  return us < 10 ? us.toFixed(1) : count(Math.round(us));
}

/** Milliseconds from microseconds: two decimals below 10 ms, whole numbers above. */
function millis(us) {
  const ms = us / 1000;
  return ms < 10 ? ms.toFixed(2) : count(Math.round(ms));
}

function count(n) {
  return n.toLocaleString('en-US');
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

/** The first column reads left-aligned, the figures right-aligned. */
function pad(cell, width, column) {
  return column === 0 ? cell.padEnd(width) : cell.padStart(width);
}
