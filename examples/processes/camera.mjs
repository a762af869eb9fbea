// The camera program: creates the machine-scope slot `argv[2]` and writes 60 frames at 100 Hz,
// each filled with its frame number, once a controller has said it is attached (a trigger).
import { SharedObject } from 'keel';

const name = process.argv[2] ?? 'demo-camera';
const frameCount = 60;
const camera = SharedObject.create(name, new Uint8Array(480 * 848 * 3), {
  scope: 'machine',
  shape: [480, 848, 3],
});
try {
  await camera.changed({ timeoutMs: 10_000 }); // the controller's trigger: it is listening
  const frame = new Uint8Array(480 * 848 * 3);
  for (let index = 1; index <= frameCount; index++) {
    frame.fill(index);
    camera.assign(frame);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
} finally {
  // The name goes; the controller's handle keeps working until it closes it.
  SharedObject.unlink(name);
}
