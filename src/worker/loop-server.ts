/**
 * The far side of `RealtimeLoop.inWorker`: loads the tick (and the module's optional `setup`),
 * then runs the loop on this dedicated thread, sleeping precisely between deadlines and
 * publishing its statistics in the shared memory the caller reads. Stopping is a flip of the
 * shared state word (which also ends the sleep); the worker then exits.
 */
import { serializeError } from '../errors.js';
import type { CallerChannel } from '../transport/far-side/caller-channel.js';
import type { FromLoopWorker, StartLoopMessage, ToLoopWorker } from '../protocol/loop-messages.js';
import { kRunning, kStateIndex, LoopStatsMemory } from '../memory/loop-stats.js';
import { nowMs, yieldToEventLoop } from '../timers/clock.js';
import { DeadlineClock, sleepUntil, startTick } from '../timers/schedule.js';
import { pickExport, type ModuleLoader } from './module-loader.js';

type Tick = (nowMs: number) => unknown;

export function serveLoop(
  channel: CallerChannel<ToLoopWorker, FromLoopWorker>,
  loader: ModuleLoader,
): void {
  channel.onMessage((message) => {
    if (message.type === 'start-loop') void runLoop(message, channel, loader);
  });
}

async function runLoop(
  message: StartLoopMessage,
  channel: CallerChannel<ToLoopWorker, FromLoopWorker>,
  loader: ModuleLoader,
): Promise<void> {
  const memory = new LoopStatsMemory(message.memory);
  let tick: Tick;
  try {
    tick = await prepare(message, loader);
  } catch (error) {
    channel.post({ type: 'loop-start-failed', error: serializeError(error) });
    channel.exit();
    return;
  }
  // Running from now on, unless the caller already asked for a stop.
  if (memory.markRunning()) {
    channel.post({ type: 'loop-started' });
    try {
      await tickUntilStopped(tick, memory, message);
    } catch (error) {
      channel.post({ type: 'loop-failed', error: serializeError(error) });
    }
  }
  channel.exit();
}

/** The tick export, once the module loaded and its `setup` export (if any) returned. */
async function prepare(message: StartLoopMessage, loader: ModuleLoader): Promise<Tick> {
  const namespace = await loader.loadModule(message.module);
  const tick = pickExport(namespace, message.module, message.name) as Tick;
  if (hasExport(namespace, 'setup')) {
    const setup = pickExport(namespace, message.module, 'setup');
    await setup();
  }
  return tick;
}

function hasExport(namespace: Record<string, unknown>, name: string): boolean {
  if (namespace[name] !== undefined) return true;
  const fallback = namespace.default;
  return typeof fallback === 'object' && fallback !== null && name in fallback;
}

/**
 * Ticks at deadline_n = origin + n * period until the state word leaves kRunning. A tick that
 * throws or rejects ends the loop with its error; an async tick is awaited before the next.
 */
async function tickUntilStopped(
  tick: Tick,
  memory: LoopStatsMemory,
  message: StartLoopMessage,
): Promise<void> {
  const clock = new DeadlineClock(nowMs(), message.periodMs);
  while (sleepUntil(clock.deadlineMs, message.spinMs, memory.control, kStateIndex, kRunning)) {
    const pending = startTick(clock, memory, tick);
    if (pending) await pending;
    clock.advance();
    // One turn of this thread's event loop per tick, so that promise callbacks, timers and
    // messages the tick's module relies on still run while the loop sleeps in Atomics.wait.
    // Unconditional: a loop whose ticks overrun never sleeps (sleepUntil returns at once, the
    // missed deadlines are skipped and counted by startTick), and must still turn it. Stopping
    // never depends on it: the caller flips the shared state word, read before every tick.
    await yieldToEventLoop();
  }
}
