/**
 * The runner of a `pipe` stage: up to `concurrency` calls at once, of a local function or of a
 * pool task, their results handed on in source order or as they complete.
 */
import { PipelineTask } from './task.js';
import { EmissionWindow, kDropped } from './emission-window.js';
import { emit, type StageContext } from './stage-context.js';
import type { MapStageSpec } from './stage-spec.js';

type Call = (item: unknown) => unknown;

export async function runMapStage(spec: MapStageSpec, context: StageContext): Promise<void> {
  const call = callOf(spec.step, context);
  const window = new EmissionWindow<unknown>(spec.concurrency, context.ordered, (value) =>
    emit(context, value),
  );
  context.stopSignal.addEventListener(
    'abort',
    () => {
      window.stop();
    },
    { once: true },
  );
  // Calls still running when the stage ends are awaited (pool tasks are aborted by the stop
  // signal): once the run has stopped, none of its calls is left running.
  const running = new Set<Promise<void>>();
  try {
    await readAndCall(call, window, running, context);
  } finally {
    await Promise.all(running);
  }
}

async function readAndCall(
  call: Call,
  window: EmissionWindow<unknown>,
  running: Set<Promise<void>>,
  context: StageContext,
): Promise<void> {
  for (;;) {
    const sequence = await window.reserve();
    if (sequence === undefined) return;
    const pulled = await context.input.get();
    // A stop may land between the read and here: nothing new starts after it.
    if (pulled.kind !== 'item' || context.stopping()) {
      window.settle(sequence, kDropped);
      if (pulled.kind !== 'end' || context.stopping()) return;
      await window.idle();
      if (!context.stopping()) context.output.end(pulled.failure);
      return;
    }
    context.counters.inputs++;
    const done = callOne(call, pulled.value, sequence, window, context);
    running.add(done);
    void done.then(() => running.delete(done));
  }
}

async function callOne(
  call: Call,
  item: unknown,
  sequence: number,
  window: EmissionWindow<unknown>,
  context: StageContext,
): Promise<void> {
  const startedMs = performance.now();
  try {
    const value = await call(item);
    context.counters.recordTaskMs(performance.now() - startedMs);
    window.settle(sequence, { emit: true, value });
  } catch (error) {
    context.counters.recordTaskMs(performance.now() - startedMs);
    // Counted first: if this failure stops the run, the window ignores the settle and no
    // further item is read.
    context.itemFailed(error);
    window.settle(sequence, kDropped);
  }
}

function callOf(step: MapStageSpec['step'], context: StageContext): Call {
  if (!(step instanceof PipelineTask)) return step;
  // A run makes its own pool at its start whenever a task stage was given none.
  const pool = (step.pool ?? context.ownPool)!;
  const options = {
    ...(step.abortOnStop ? { signal: context.stopSignal } : {}),
    ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }),
  };
  return (item) => pool.run(step.href, step.exportName, [item], options);
}
