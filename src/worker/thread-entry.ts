/**
 * The entry every keel worker thread boots. It reads its role from the boot data and serves it.
 */
import { threadCallerChannel } from '../transport/far-side.js';
import type { FromPoolWorker, ToPoolWorker, WorkerBootData } from '../protocol/messages.js';
import { CallServer } from './call-server.js';
import { ModuleLoader } from './module-loader.js';

const channel = threadCallerChannel<ToPoolWorker, FromPoolWorker>();
const boot = channel.bootData as WorkerBootData;
const server = new CallServer(new ModuleLoader(boot.loaderHooks), (message) => {
  channel.post(message);
});
channel.onMessage((message) => {
  server.accept(message);
});
channel.post({ type: 'ready' });
