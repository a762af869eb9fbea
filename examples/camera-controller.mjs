// Two programs started separately share camera frames by name: processes/camera.mjs writes
// 1.2 MB frames into a machine-scope SharedObject, processes/controller.mjs opens it by name and
// reacts to each new frame. This launcher only starts both, as two terminals would:
//   node examples/processes/camera.mjs demo-camera
//   node examples/processes/controller.mjs demo-camera
import { spawn } from 'node:child_process';

const name = `example-camera-${process.pid}`;
const start = (program) =>
  spawn(process.execPath, [new URL(`processes/${program}`, import.meta.url).pathname, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
const exited = (child) => new Promise((resolve) => child.once('exit', (code) => resolve(code)));

const controller = start('controller.mjs'); // first on purpose: it waits for the camera's name
const camera = start('camera.mjs');
let output = '';
controller.stdout.on('data', (chunk) => (output += chunk));
camera.stdout.pipe(process.stdout);
const [controllerCode, cameraCode] = await Promise.all([exited(controller), exited(camera)]);
process.stdout.write(output);
process.exitCode = controllerCode || cameraCode;
