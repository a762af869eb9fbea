// The demo's report as one self-contained HTML page: the table, the conclusions, and for each
// scenario two histograms (inline SVG) of its ticks: how late each ran, and the time between
// consecutive ticks. No script, no stylesheet or font from elsewhere.

import { kIntervalRangeMs, kLatenessRangeUs } from './analysis.mjs';
import { micros, millis } from './format.mjs';
import { escapeXml as escape, histogramSvg } from './svg.mjs';
import { busyMachineWarning, conclusions, header, tableRow } from './text.mjs';

const kColors = { inline: '#c0392b', main: '#2471a3', worker: '#1e8449', realtime: '#7d3c98' };
const kStyle = `
body { font: 15px/1.45 system-ui, sans-serif; color: #222; max-width: 1140px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 18px; margin: 28px 0 8px; } h3 { font-size: 16px; margin: 18px 0 4px; }
.meta { color: #555; margin: 2px 0; } .warning { background: #fff4d6; border: 1px solid #e5c66b; padding: 6px 10px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; } th { background: #f3f3f3; font-weight: 600; }
td { text-align: right; } td:first-child, th:first-child { text-align: left; white-space: nowrap; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; }
.charts { display: flex; gap: 24px; flex-wrap: wrap; } .caption { color: #555; font-size: 13px; margin: 2px 0 0; }
svg .tick { font-size: 11px; fill: #555; } svg .axis { font-size: 12px; fill: #333; } svg .marker { font-size: 11px; fill: #222; }
li { margin: 3px 0; } code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }`;

/** The report page for a run (as index.mjs assembles it). */
export function formatHtml(run) {
  const [, ...meta] = header(run);
  const title = 'keel demo: a robot’s 1 kHz control loop, a 100 Hz policy, a 60 Hz camera';
  const warning = busyMachineWarning(run.machine).join(' ');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>keel demo report</title><style>${kStyle}</style></head>
<body>
<h1>${escape(title)}</h1>
${[...meta, `${run.seconds} s per scenario, measured ${run.date}: one run, on a machine that may be shared`].map((line) => `<p class="meta">${escape(line)}</p>`).join('\n')}
${warning ? `<p class="warning">${escape(warning)}</p>` : ''}
<h2>Results</h2>
${resultsTable(run.scenarios)}
<ul>${conclusions(run.scenarios)
    .map((line) => `<li>${escape(line)}</li>`)
    .join('')}</ul>
<h2>Tick jitter, scenario by scenario</h2>
<p>Left: how late each tick ran after its deadline (µs). Right: the time between consecutive ticks (ms): 1 ms when the loop keeps its rate, more when it stalled and missed ticks. Both axes are logarithmic; the height of a bar is the share of the scenario's ticks that fell in it. Hover a bar for its count.</p>
${run.scenarios.map(scenarioSection).join('\n')}
<h2>How to read this</h2>
${readingNotes()}
</body>
</html>
`;
}

function resultsTable(scenarios) {
  const head = [
    'scenario',
    'loop ticks run / due',
    'missed',
    'tick jitter µs p50 / p99 / max',
    'longest gap ms',
    'event-loop delay ms p50 / p99 / max',
    'policy calls / due',
    'frames seen / sent',
  ];
  const rows = scenarios.map((scenario) => {
    const [label, ...cells] = tableRow(scenario);
    const name = `<span class="swatch" style="background:${kColors[scenario.key] ?? '#888'}"></span>${escape(label)}`;
    if (scenario.notRun)
      return `<tr><td>${name}</td><td colspan="${head.length - 1}" style="text-align:left">${escape(cells.join(' '))}</td></tr>`;
    return `<tr><td>${name}</td>${cells.map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`;
  });
  return `<table>\n<tr>${head.map((cell) => `<th>${escape(cell)}</th>`).join('')}</tr>\n${rows.join('\n')}\n</table>`;
}

function scenarioSection(scenario) {
  const color = kColors[scenario.key] ?? '#888';
  const title = `<h3><span class="swatch" style="background:${color}"></span>${escape(scenario.label)}</h3>`;
  if (scenario.notRun) return `${title}<p>not run: ${escape(scenario.notRun)}</p>`;
  const { loop, histograms } = scenario;
  const lateness = histogramSvg({
    histogram: histograms.latenessUs,
    color,
    xLabel: 'tick lateness after its deadline (µs)',
    markers: [
      { value: loop.jitterUs.p50, label: `p50 ${micros(loop.jitterUs.p50)} µs` },
      { value: loop.jitterUs.p99, label: `p99 ${micros(loop.jitterUs.p99)} µs` },
      { value: loop.jitterUs.max, label: `max ${micros(loop.jitterUs.max)} µs` },
    ],
    ariaLabel: `${scenario.label}: histogram of tick lateness`,
  });
  const intervals = histogramSvg({
    histogram: histograms.intervalsMs,
    color,
    xLabel: 'time between consecutive ticks (ms)',
    markers: [
      { value: 1, label: 'period 1 ms' },
      { value: scenario.longestGapMs, label: `longest ${millis(scenario.longestGapMs)} ms` },
    ],
    ariaLabel: `${scenario.label}: histogram of intervals between ticks`,
  });
  return `<section>${title}<div class="charts">${lateness}${intervals}</div>${caption(scenario)}</section>`;
}

function caption({ loop, histograms }) {
  const recovered =
    histograms.latenessMethod === 'matched'
      ? 'Each tick’s lateness is recovered from its start time: the deadline grid is the one that reproduces the loop’s own max, p50 and p99.'
      : 'Each tick’s lateness is estimated from its start time (the loop’s worst tick was not recorded): values may read up to a µs low.';
  return `<p class="caption">${loop.missed.toLocaleString('en-US')} missed ticks are not in the lateness histogram (a missed tick never ran); they widen the intervals on the right. Values outside an axis are counted in its first or last bar (${kLatenessRangeUs[0]}–${kLatenessRangeUs[1].toLocaleString('en-US')} µs; ${kIntervalRangeMs[0].toFixed(2)}–${Math.round(kIntervalRangeMs[1])} ms). ${escape(recovered)}</p>`;
}

function readingNotes() {
  const notes = [
    'A 1 kHz loop has 1 ms per tick. A tick that starts a full period late is not run late: it is <em>missed</em> (skipped and counted), as a controller does. So jitter stays under 1 ms by construction, and what the policy’s 5 ms does to an inline loop shows as missed ticks and gaps of 5 ms and more.',
    'p50 is the typical tick, p99 the one in a hundred that matters for control, max the worst tick of the run. On a virtual machine a few ms of max appear in every scenario: the machine stalls even a spinning thread that long.',
    'The event-loop delay is measured on the main thread with <code>monitorLoop</code>: how late a 1 ms timer ran. It is what any I/O, timer or message on the main thread waited for. In scenario 3 the main thread only relays the policy’s calls: it sleeps between events, and every wake-up costs about 0.1 ms (the p50).',
    'Scenario 2 keeps the loop on the main thread: RealtimeLoop then polls the clock (setImmediate) in the last millisecond before each deadline, that is all the time at 1 kHz, so the main thread keeps one CPU busy. Scenario 3’s worker does the same with <code>spinUs: 1000</code>: it watches the clock instead of sleeping in <code>Atomics.wait</code> until 0.2 ms before each deadline (the default). A sleeping loop thread gives its CPU back, but on a 2-CPU machine where the policy and the camera also run it wakes late: hundreds of µs at p99 instead of one or two.',
    'The price of a loop that keeps a CPU, on a 2-CPU machine: in 3 the main thread shares the other CPU with the policy’s worker, so its own event-loop delay grows (a few ms at p99, one policy call holding the CPU). In 2 it is the policy that waits (its answers come later, some calls are skipped). With more CPUs than busy threads, neither happens.',
    'On a machine shared with other programs (the load average above), all figures get worse, scenario 2 most: it needs a whole CPU for the main thread and most of another for the policy.',
    "Scenario 4 gets the same guarantee as 3 without owning a CPU: the loop’s worker has <code>priority: 'realtime'</code> (SCHED_FIFO 80), so the kernel runs it the moment its sleep ends, ahead of every normal thread, and the policy’s worker has <code>priority: 'background'</code> (SCHED_IDLE), so it only takes CPU time nobody else wants. The loop sleeps in <code>Atomics.wait</code> until 0.2 ms before each deadline (the default <code>spinUs</code>). The OS may refuse a realtime class (no <code>CAP_SYS_NICE</code>, <code>ulimit -r</code> at 0): the row then says so and the loop runs at normal priority (docs/realtime.md).",
  ];
  return `<ul>${notes.map((note) => `<li>${note}</li>`).join('\n')}</ul>`;
}
