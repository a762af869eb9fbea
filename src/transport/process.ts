/**
 * Child processes: the only caller-side module that touches node:child_process. Values cross
 * with the v8 serializer (`serialization: 'advanced'`), so binaries and Maps survive.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EndpointHandlers, WorkerEndpoint, WorkerExit } from './endpoint.js';
import { IpcPoller } from './ipc-poll.js';

const kProcessEntry = fileURLToPath(new URL('../worker/process-entry.js', import.meta.url));
/** How long the caller's loop keeps turning for an answer after a send (ipc-poll.ts). */
const kCallerPollUs = 100;

export interface ProcessOptions {
  readonly bootData: unknown;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv?: readonly string[] | undefined;
}

/** Starts a keel child process; its exit is reported after its last message was delivered. */
export function startProcess<In, Out>(
  options: ProcessOptions,
  handlers: EndpointHandlers<In>,
): WorkerEndpoint<Out> {
  const child = fork(kProcessEntry, [], {
    serialization: 'advanced',
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    ...(options.env ? { env: options.env } : {}),
    ...(options.execArgv ? { execArgv: [...options.execArgv] } : {}),
  });
  let exit: WorkerExit | undefined;
  let reported = false;
  const report = () => {
    // 'exit' can come before the last IPC messages were read; wait for the channel to close too.
    if (reported || !exit || child.connected) return;
    reported = true;
    handlers.onExit(exit);
  };
  const poller = new IpcPoller(kCallerPollUs);
  child.on('message', (message: In | { type: 'bye' }) => {
    poller.received();
    if ((message as { type?: unknown }).type !== 'bye') handlers.onMessage(message as In);
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal, error: undefined };
    report();
  });
  child.on('disconnect', report);
  child.on('error', (error) => {
    // A child that started always ends with 'exit', which tells how: an error here is then a
    // send to a child on its way out (its 'disconnect' may come first, and must not report an
    // exit without its code or signal). Only a child that never started ends with this error.
    if (child.pid !== undefined) return;
    exit ??= { code: null, signal: null, error };
    if (child.connected) child.disconnect();
    else report();
  });
  child.send(options.bootData as object);
  return {
    id: child.pid ?? -1,
    post: (message) => {
      child.send(message as object);
      poller.sent();
    },
    ref: () => {
      child.ref();
      child.channel?.ref();
    },
    unref: () => {
      child.unref();
      child.channel?.unref();
    },
    terminate: () =>
      new Promise<void>((resolve) => {
        if (reported) {
          resolve();
          return;
        }
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGKILL');
      }),
  };
}
