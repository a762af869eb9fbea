/**
 * The far side's view of its caller: boot data, a way to post and a way to receive. The only
 * worker-side module that touches node:worker_threads.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface CallerChannel<In, Out> {
  readonly bootData: unknown;
  post(message: Out): void;
  onMessage(handler: (message: In) => void): void;
}

/** The channel of a worker thread to the thread that started it. */
export function threadCallerChannel<In, Out>(): CallerChannel<In, Out> {
  const port = parentPort;
  if (!port) throw new Error('keel: the worker entry must run in a worker thread');
  return {
    bootData: workerData,
    post: (message) => {
      port.postMessage(message);
    },
    onMessage: (handler) => {
      port.on('message', handler);
    },
  };
}
