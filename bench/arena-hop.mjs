// One hop of a 1.2 MB frame by reference through the arena, on one thread (plain JS over dist/;
// `npm run build` first):
//   node bench/arena-hop.mjs [--hops=20000]
// The frame lives in the arena (arena.allocate) and is sent on as it comes back, as in the
// frames-pool cell: pack (packValue: the envelope, one hold), the fast lane's encode into
// shared memory and decode, unpack (accept the hold, a pin, a view, a lease), release of the
// previous view. No thread crosses: this is the CPU a hop costs its two ends, without the
// wake-ups. Reports µs per hop (median and best of 15 rounds) and the bytes of garbage per hop,
// read from V8's own GC trace (a child run with --trace-gc-nvp: "allocated" summed over the
// scavenges, divided by the hops).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Arena, release } from '../dist/index.js';
import { packValue, unpackValue } from '../dist/memory/arena/transit.js';
import { MessageDecoder, MessageEncoder } from '../dist/transport/fast-lane/message-encoding.js';
import { parseFlags } from './lib/measure.mjs';

const kFrameBytes = 480 * 848 * 3;
const flags = parseFlags();
const hopsPerRound = Number(flags.hops ?? 20_000);

const arena = new Arena({ bytes: 64 * 2 ** 20 });
let frame = arena.allocate(Uint8Array, kFrameBytes, { zero: false });
const encoder = new MessageEncoder();
const ring = new SharedArrayBuffer(1 << 16);
const ringBytes = new Uint8Array(ring);
const decoder = new MessageDecoder(ring);

function hop() {
  const packed = packValue(arena, [frame]);
  const message = { type: 'call', id: 1, fn: 0, ...packed.marks, args: packed.value };
  const byteLength = encoder.encode(message);
  ringBytes.set(encoder.encodedBytes.subarray(0, byteLength), 0);
  const received = decoder.decode(0, byteLength);
  const [view] = unpackValue(arena, received.args, received);
  release(frame);
  frame = view;
}

if (flags.child !== undefined) {
  for (let i = 0; i < Number(flags.child); i++) hop();
  process.exit(0);
}

for (let i = 0; i < 50_000; i++) hop(); // warm: the path optimized, the arena's pages touched
const roundsUs = [];
for (let round = 0; round < 15; round++) {
  const startMs = performance.now();
  for (let i = 0; i < hopsPerRound; i++) hop();
  roundsUs.push(((performance.now() - startMs) * 1000) / hopsPerRound);
}
roundsUs.sort((a, b) => a - b);

const traced = 400_000;
const trace = execFileSync(
  process.execPath,
  ['--trace-gc-nvp', fileURLToPath(import.meta.url), `--child=${traced}`],
  { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
);
let allocatedBytes = 0;
for (const match of trace.matchAll(/gc=s .*?allocated=(\d+)/g)) allocatedBytes += Number(match[1]);

console.log(
  JSON.stringify({
    hopUsMedian: +roundsUs[7].toFixed(2),
    hopUsBest: +roundsUs[0].toFixed(2),
    garbageBytesPerHop: Math.round(allocatedBytes / traced),
    node: process.version,
  }),
);
