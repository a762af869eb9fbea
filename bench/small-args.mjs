// Small arguments of a control loop through a spawned thread object and through comlink (plain
// JS over dist/; `npm run build` first):
//   node bench/small-args.mjs [--calls=20000]
// One call at a time, `echo(value)` returning its argument: a number, a robot's joint state as a
// Float64Array(7), the same 7 numbers as a plain array, and an object carrying a Float32Array(64)
// observation and a timestamp. The fast lane's compact codec carries small TypedArrays since
// session 7 (before, they took V8's serializer: a Float64Array(7) call cost 16.6 µs p50 against
// 3.0 for a number). Each library's p50 and p99 in µs, after 5,000 warm-up calls per payload.
import { createRemote } from './adapters/remotes.mjs';
import { parseFlags, summarizeUs } from './lib/measure.mjs';

const flags = parseFlags();
const calls = Number(flags.calls ?? 20_000);
const payloads = {
  number: () => 0.5,
  'Float64Array(7)': () => new Float64Array(7).fill(0.25),
  'array of 7 numbers': () => [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
  '{ observation: Float32Array(64), t }': () => ({
    observation: new Float32Array(64).fill(0.5),
    t: 12.5,
  }),
};

const rows = [];
for (const lib of ['keel-thread', 'comlink']) {
  const remote = await createRemote(lib, 'echo');
  for (const [name, make] of Object.entries(payloads)) {
    const value = make();
    for (let i = 0; i < 5_000; i++) await remote.echo(value);
    const samplesUs = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      const startMs = performance.now();
      await remote.echo(value);
      samplesUs[i] = (performance.now() - startMs) * 1000;
    }
    const { p50Us, p99Us } = summarizeUs(samplesUs);
    rows.push(`| ${lib} | ${name} | ${p50Us.toFixed(2)} | ${p99Us.toFixed(1)} |`);
  }
  await remote.close();
}
console.log('| library | argument | p50 µs | p99 µs |\n|---|---|---:|---:|');
console.log(rows.join('\n'));
