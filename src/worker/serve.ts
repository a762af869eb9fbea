/**
 * What a keel worker or child does once it has a channel to its caller: serve its role.
 */
import type { CallerChannel } from '../transport/far-side/caller-channel.js';
import type {
  FromPoolWorker,
  FromRemote,
  ToPoolWorker,
  ToRemote,
  WorkerBootData,
} from '../protocol/messages.js';
import type { FromLoopWorker, ToLoopWorker } from '../protocol/loop-messages.js';
import type { FromStreamWorker, ToStreamWorker } from '../protocol/stream-messages.js';
import { CallServer } from './call-server.js';
import { serveLoop } from './loop-server.js';
import { ModuleLoader } from './module-loader.js';
import { RemoteServer } from './remote-server.js';
import { serveStream } from './stream-server.js';

export function serve(channel: CallerChannel<unknown, unknown>): void {
  const boot = channel.bootData as WorkerBootData;
  const loader = new ModuleLoader(boot.loaderHooks);
  if (boot.role === 'pool')
    servePool(channel as CallerChannel<ToPoolWorker, FromPoolWorker>, loader);
  else if (boot.role === 'loop')
    serveLoop(channel as CallerChannel<ToLoopWorker, FromLoopWorker>, loader);
  else if (boot.role === 'stream')
    serveStream(channel as CallerChannel<ToStreamWorker, FromStreamWorker>, loader);
  else serveRemote(channel as CallerChannel<ToRemote, FromRemote>, loader);
  channel.post({ type: 'ready' });
}

function servePool(
  channel: CallerChannel<ToPoolWorker, FromPoolWorker>,
  loader: ModuleLoader,
): void {
  const server = new CallServer(loader, (message, transfer) => {
    channel.post(message, transfer === undefined ? undefined : { transfer });
  });
  channel.onMessage((message) => server.accept(message));
}

function serveRemote(channel: CallerChannel<ToRemote, FromRemote>, loader: ModuleLoader): void {
  const server = new RemoteServer(loader, (message, transfer) => {
    channel.post(message, transfer === undefined ? undefined : { transfer });
  });
  channel.onMessage((message) => {
    if (message.type === 'invoke') return server.accept(message);
    // Not awaited like calls: a factory that never settles must not stop this loop from
    // reading what comes next (the caller's startTimeoutMs ends the worker).
    if (message.type === 'start') void server.start(message);
    else
      void server.dispose().finally(() => {
        channel.exit();
      });
    return undefined;
  });
}
