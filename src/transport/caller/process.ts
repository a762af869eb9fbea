/**
 * Child processes: the only caller-side module that touches node:child_process. Values cross
 * with the v8 serializer (`serialization: 'advanced'`), so binaries and Maps survive.
 *
 * A child's stderr is piped through the parent, not inherited: each chunk is written to the
 * parent's stderr as it comes (users still see it), and the last few KiB are kept for the exit
 * report. A child that Node refuses to boot (a bad flag) says why only there.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { KeelError } from '../../errors.js';
import { setLongTimeout, type LongTimeout } from '../../timers/long-timeout.js';
import type { EndpointHandlers, WorkerEndpoint, WorkerExit } from './endpoint.js';
import { IpcPoller } from '../ipc-poll.js';
import { native } from '../../platform/native.js';
import { allocateHandableMemory, closeHandedMemory } from '../../memory/arena/handed-memory.js';
import {
  createRoutedLane,
  kNoMessage,
  type FastLaneCaller,
  type RoutedLaneInit,
} from '../fast-lane/duplex.js';
import { handOverBuffers } from '../handed-buffers.js';
import { IpcSideRoute } from '../ipc-side-route.js';
import { LanePump } from './lane-thread.js';

const kProcessEntry = fileURLToPath(new URL('../../worker/process-entry.js', import.meta.url));
/** How long the caller's loop keeps turning for an answer after a send (ipc-poll.ts). */
const kCallerPollUs = 100;
/** How much of the end of a child's stderr an exit report carries. */
const kStderrTailBytes = 4096;
/**
 * How long after a child's exit its IPC channel and stderr may stay open before the exit is
 * reported anyway. Both close within milliseconds of the exit, once the last bytes are read;
 * only a grandchild that inherited one keeps it open, and that must not hold the report back.
 */
const kExitGraceMs = 1_000;

export interface ProcessOptions {
  readonly bootData: unknown;
  /**
   * Reach the child over a fast lane in shared memory (when the native layer is loaded; the
   * IPC channel otherwise), spinning at most this many µs for an answer (0..50; see
   * lane-thread.ts). Absent: IPC only.
   */
  readonly lane?: { readonly callerSpinUs?: number | undefined } | undefined;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv?: readonly string[] | undefined;
}

/**
 * Starts a keel child process. Its exit is reported once, always: after its last message was
 * delivered and its stderr read to the end, or kExitGraceMs after it exited. Throws `KeelError`
 * ERR_START_FAILED, Node's error as `cause`, when Node refuses to fork at all.
 */
export function startProcess<In, Out>(
  options: ProcessOptions,
  handlers: EndpointHandlers<In>,
): WorkerEndpoint<Out> {
  const lane = options.lane && native ? new ProcessLane<Out, In>(options.lane) : undefined;
  let child: ChildProcess;
  let bootData: unknown;
  try {
    // Shared memory in the boot data (the arena, the lane's rings) goes as descriptors in stdio.
    const handed = handOverBuffers(
      lane ? { ...(options.bootData as object), lane: lane.init } : options.bootData,
    );
    bootData = handed.bootData;
    child = forkChild(options, handed.fds);
  } catch (error) {
    lane?.caller.close();
    throw error;
  }
  lane?.connect(child, handlers);
  const stderr = new StderrTail(child.stderr);
  let exit: WorkerExit | undefined;
  let grace: LongTimeout | undefined;
  let reported = false;
  let markGone!: () => void;
  const gone = new Promise<void>((resolve) => {
    markGone = resolve;
  });
  const report = (force: boolean) => {
    // 'exit' can come before the last IPC messages and stderr bytes were read: wait for the
    // channel and stderr to close too, for at most kExitGraceMs.
    if (reported || !exit) return;
    if (!force && (child.connected || !stderr.closed)) return;
    reported = true;
    grace?.clear();
    // What the child wrote into the rings before it ended, then the lane ends here too.
    lane?.end();
    if (child.connected) child.disconnect();
    // Whatever still holds stderr open (a grandchild) is forwarded, but must not keep us alive.
    stderr.unref();
    handlers.onExit({ ...exit, stderr: stderr.text() });
    markGone();
  };
  stderr.onClose(() => {
    report(false);
  });
  const poller = new IpcPoller(kCallerPollUs);
  child.on('message', (message: In | { type: 'bye' }) => {
    poller.received();
    if (lane) lane.received(message);
    else if ((message as { type?: unknown }).type !== 'bye') handlers.onMessage(message as In);
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal, error: undefined };
    report(false);
    if (reported) return;
    grace = setLongTimeout(() => {
      report(true);
    }, kExitGraceMs);
  });
  child.on('disconnect', () => {
    report(false);
  });
  child.on('error', (error) => {
    // A child that started always ends with 'exit', which tells how: an error here is then a
    // send to a child on its way out (its 'disconnect' may come first, and must not report an
    // exit without its code or signal). Only a child that never started ends with this error.
    if (child.pid !== undefined) return;
    exit ??= { code: null, signal: null, error };
    report(true);
  });
  child.send(bootData as object);
  return {
    id: child.pid ?? -1,
    post: (message) => {
      if (lane) lane.caller.send(message);
      else child.send(message as object);
      poller.sent();
    },
    ref: () => {
      child.ref();
      child.channel?.ref();
      if (!reported) stderr.ref();
      lane?.pump.want(true);
    },
    unref: () => {
      child.unref();
      child.channel?.unref();
      stderr.unref();
      lane?.pump.want(false);
    },
    terminate: () => {
      // Harmless when it already exited; the exit report (bounded, see above) follows.
      if (!reported) child.kill('SIGKILL');
      return gone;
    },
    ...(lane ? { receivePending: lane.drain } : {}),
  };
}

/**
 * node:child_process, loaded on the first fork: it brings net, dgram and the stream classes
 * with it (about half a megabyte of the caller's heap, marked at every full collection), which
 * a program that only uses threads never needs.
 */
let childProcessModule: typeof import('node:child_process') | undefined;

function forkChild(options: ProcessOptions, handedFds: readonly number[]): ChildProcess {
  try {
    childProcessModule ??= createRequire(import.meta.url)(
      'node:child_process',
    ) as typeof import('node:child_process');
    return childProcessModule.fork(kProcessEntry, [], {
      serialization: 'advanced',
      stdio: ['inherit', 'inherit', 'pipe', 'ipc', ...handedFds],
      ...(options.env ? { env: options.env } : {}),
      ...(options.execArgv ? { execArgv: [...options.execArgv] } : {}),
    });
  } catch (error) {
    // Node validates its arguments synchronously (a flag holding a NUL byte, too many
    // processes): the caller gets the same code as for a child that dies at boot.
    throw new KeelError(
      'ERR_START_FAILED',
      `the child process could not be started: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * The fast lane to one child: two rings in memory handed over at fork, and the child's IPC
 * channel as their side route (transport/ipc-side-route.ts). Every message after the boot data
 * goes through it, both ways; the IPC channel itself still carries the boot data, what the
 * rings cannot, the child's 'bye' and, by closing, its exit.
 */
class ProcessLane<Out, In> {
  readonly caller: FastLaneCaller<Out, In>;
  readonly init: RoutedLaneInit;
  readonly pump: LanePump;
  readonly #side: IpcSideRoute;
  #child: ChildProcess | undefined;
  #handlers: EndpointHandlers<In> | undefined;

  constructor(options: { readonly callerSpinUs?: number | undefined }) {
    this.#side = new IpcSideRoute((envelope) => {
      this.#child?.send(envelope);
    });
    const { caller, init } = createRoutedLane<Out, In>(
      this.#side,
      (bytes) => allocateHandableMemory(bytes, 'keel-lane'),
      options.callerSpinUs === undefined ? {} : { spinUs: options.callerSpinUs },
    );
    this.caller = caller;
    this.init = init;
    this.pump = new LanePump(caller, this.drain);
  }

  connect(child: ChildProcess, handlers: EndpointHandlers<In>): void {
    this.#child = child;
    this.#handlers = handlers;
    // The rings were handed over; the child keeps them mapped, we need no descriptor any more.
    closeHandedMemory(this.init.requests);
    closeHandedMemory(this.init.responses);
    this.pump.want(true);
  }

  /** An IPC message from the child: a side envelope of the lane (the rest is 'bye'). */
  received(message: unknown): void {
    if (IpcSideRoute.isEnvelope(message)) this.#side.deliver(message);
  }

  readonly drain = (): void => {
    const handlers = this.#handlers;
    if (!handlers) return;
    for (
      let message = this.caller.receive();
      message !== kNoMessage;
      message = this.caller.receive()
    ) {
      handlers.onMessage(message);
    }
  };

  /** After the child's exit: delivers what it had sent, then closes the lane. */
  end(): void {
    this.drain();
    this.caller.close();
  }
}

/** Forwards a child's stderr to ours and keeps its last kStderrTailBytes. */
class StderrTail {
  readonly #stream: (Readable & { ref?(): void; unref?(): void }) | null;
  #tail = Buffer.alloc(0);
  #closed = false;
  #onClose: (() => void) | undefined;

  constructor(stream: Readable | null) {
    this.#stream = stream;
    if (!stream) {
      this.#closed = true;
      return;
    }
    stream.on('data', (chunk: Buffer) => {
      // Synchronous on Linux for files, TTYs and pipes: no backlog builds up here.
      if (process.stderr.writable) process.stderr.write(chunk);
      this.#keep(chunk);
    });
    // A reset pipe is followed by 'close'; the error itself tells nothing more.
    stream.on('error', () => undefined);
    stream.once('close', () => {
      this.#closed = true;
      this.#onClose?.();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClose(callback: () => void): void {
    this.#onClose = callback;
  }

  ref(): void {
    this.#stream?.ref?.();
  }

  unref(): void {
    this.#stream?.unref?.();
  }

  /** The kept bytes as text, from the first whole line when the start was cut off. */
  text(): string {
    const text = this.#tail.toString('utf8');
    if (this.#tail.length < kStderrTailBytes) return text;
    const firstLineEnd = text.indexOf('\n');
    return firstLineEnd === -1 ? text : text.slice(firstLineEnd + 1);
  }

  #keep(chunk: Buffer): void {
    const joined = this.#tail.length === 0 ? chunk : Buffer.concat([this.#tail, chunk]);
    // A copy: a view would pin every chunk the child ever wrote.
    this.#tail = Buffer.from(joined.subarray(Math.max(0, joined.length - kStderrTailBytes)));
  }
}
