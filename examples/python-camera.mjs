// A Python camera and a Node consumer sharing 1.2 MB frames by name: python-camera.py creates a
// machine-scope SharedObject and assigns 60 frames at 30 fps; this program starts it, opens
// the slot by name and wakes on each new frame (changed(), woken by the futex Python's assign
// wakes, no polling), checking that every frame it reads is whole. Needs python3 with numpy and
// keel's native layer. The two sides could as well be started in two terminals:
//   PYTHONPATH=node_modules/keel/python python3 examples/python-camera.py demo-camera
//   (then, in Node) SharedObject.open('demo-camera')
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SharedObject } from 'keel';

const name = `example-python-camera-${process.pid}`;
const lastFrame = 60;
const pythonFolder = new URL('../python/', import.meta.url).pathname;

/** Every byte equal to the first: the frame against itself shifted by one (a memcmp). */
function isWhole(bytes) {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.compare(view, 1, view.length, 0, view.length - 1) === 0;
}

const python = spawn('python3', [new URL('python-camera.py', import.meta.url).pathname, name], {
  env: { ...process.env, PYTHONPATH: pythonFolder },
  stdio: ['pipe', 'pipe', 'inherit'],
});
const exited = new Promise((resolve) => python.once('close', (code) => resolve(code)));
python.once('error', (error) => {
  console.error(`python-camera: cannot start python3 (${error.message}); it needs numpy too`);
  process.exit(1);
});
const lines = createInterface({ input: python.stdout })[Symbol.asyncIterator]();
const { value: ready } = await lines.next();
if (ready !== '"ready"') {
  console.error(`python-camera: the Python camera did not start (exit code ${await exited})`);
  process.exit(1);
}

const camera = SharedObject.open(name); // created by Python, found by name
const frame = new Uint8Array(480 * 848 * 3);
let seen = 0;
let torn = 0;
let latencyNs = 0n;
try {
  camera.fetchInto(frame); // marks the initial frame read
  python.stdin.write('go\n');
  while (frame[0] !== lastFrame) {
    // modified: a frame may have arrived between the last fetch and this line.
    if (!camera.modified) await camera.changed({ timeoutMs: 10_000 });
    // mtime is CLOCK_MONOTONIC in both languages: now - mtime is the wake-up's latency.
    latencyNs += process.hrtime.bigint() - camera.mtime;
    camera.fetchInto(frame);
    if (!isWhole(frame)) torn++;
    seen++;
  }
} finally {
  camera.close();
  SharedObject.unlink(name);
  python.stdin.end();
}
const code = await exited;
const meanMs = Number(latencyNs / BigInt(Math.max(seen, 1))) / 1e6;
console.log(
  `python camera: saw ${seen} of ${lastFrame} frames of 1.2 MB from the Python process by name, ` +
    `${torn} torn, mean wake-up ${meanMs.toFixed(2)} ms after the assign; python3 exited with ${code}`,
);
process.exitCode = code;
