// A SharedObject shared by threads: a sensor thread publishes a robot's joint state, this
// thread reads the latest one whenever it changes, and a pool thread reads it too. Readers
// never see half of one write and half of the next, and the writer never waits for them.
// Run: node examples/shared-object.mjs
import { KeelError, Pool, SharedObject, close, spawn } from 'keel';

const kUpdates = 200;
const sensorUrl = new URL('./workers/sensor.mjs', import.meta.url);

const joints = SharedObject.create('robot/joints', new Float64Array(7));
const sensor = await spawn(sensorUrl, 'makeSensor', ['robot/joints']);
const publishing = sensor.publish(kUpdates, 1);

const latest = new Float64Array(7);
let reads = 0;
let torn = 0;
while (latest[0] < kUpdates) {
  if (!joints.modified) await joints.changed({ timeoutMs: 50 }).catch(ignoreTimeout);
  joints.fetchInto(latest); // a consistent copy into our own array: one memcpy, no allocation
  reads++;
  if (latest.some((value) => value !== latest[0])) torn++;
}
await publishing;

const pool = new Pool({ maxThreads: 1 });
const spread = await pool.run(sensorUrl, 'spread', [joints]); // the handle crosses as a value
await pool.close();
await close(sensor);
joints.close();
SharedObject.unlink('robot/joints');

console.log(
  `shared object: ${kUpdates} states written by the sensor thread, ${reads} read here, ` +
    `${torn} torn; a pool thread saw spread ${spread} in the latest state`,
);

function ignoreTimeout(error) {
  if (!(error instanceof KeelError && error.code === 'ERR_TIMEOUT')) throw error;
}
