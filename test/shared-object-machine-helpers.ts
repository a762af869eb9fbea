/** Helpers of the machine-scope SharedObject tests: separate Node programs and /dev/shm checks. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { SharedObject } from 'keel';
import { fixturePath } from './helpers.js';

/** A unique machine-scope name for this test process. */
export function uniqueName(label: string): string {
  return `test-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** keel's segment files in /dev/shm (`keel.*`). */
export function keelSegments(): string[] {
  return readdirSync('/dev/shm')
    .filter((file) => file.startsWith('keel.'))
    .sort();
}

/** Removes a machine-scope name if it is still there (test clean-up). */
export function unlinkQuietly(name: string): void {
  try {
    SharedObject.unlink(name);
  } catch {
    // already gone
  }
}

/** A child Node program whose stdout lines can be awaited one by one. */
export class Program {
  readonly child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiting: ((line: string | undefined) => void)[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';

  constructor(
    script: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; command?: string[] } = {},
  ) {
    const [file, ...prefix] = options.command ?? [process.execPath];
    this.child = spawn(file as string, [...prefix, fixturePath(script), ...args], {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        // Lines still buffered in readline arrive before 'close'.
        lines.once('close', () => {
          for (const waiter of this.#waiting.splice(0)) waiter(undefined);
        });
        resolve({ code, signal });
      });
    });
  }

  /** The next stdout line, parsed as JSON; fails after `timeoutMs` or when the program ends. */
  async next(timeoutMs = 20_000): Promise<unknown> {
    const queued = this.#lines.shift();
    const line =
      queued ??
      (await new Promise<string | undefined>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(`no line from the program within ${timeoutMs} ms; stderr: ${this.stderr}`),
          );
        }, timeoutMs);
        this.#waiting.push((value) => {
          clearTimeout(timer);
          resolve(value);
        });
      }));
    if (line === undefined)
      throw new Error(`the program ended without a line; stderr: ${this.stderr}`);
    return JSON.parse(line) as unknown;
  }

  /** Waits for the exit; fails when the exit code is not 0. */
  async succeeded(): Promise<void> {
    const { code, signal } = await this.exited;
    if (code !== 0)
      throw new Error(`the program exited with ${code ?? signal}; stderr: ${this.stderr}`);
  }
}

/** Runs a program to its end and returns its first stdout line as JSON. */
export async function runProgram(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; command?: string[] } = {},
): Promise<unknown> {
  const program = new Program(script, args, options);
  const line = await program.next();
  await program.succeeded();
  return line;
}

/** Whether every byte of `frame` equals its first (memcmp of the frame against itself shifted by one). */
export function isWhole(frame: Uint8Array): boolean {
  const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  return bytes.compare(bytes, 1, bytes.length, 0, bytes.length - 1) === 0;
}

/**
 * `rounds` times: starts a writer assigning frames to `slot` at full speed, SIGKILLs it at a
 * random point, then checks that the slot reads whole and that an assign here recovers the lock
 * (bounded at 1 s: a recovery must not wait for a dead holder) and reads back.
 */
export async function killWritersMidAssign(
  slot: { fetchInto(out: Uint8Array): unknown; assign(value: Uint8Array): unknown },
  frameBytes: number,
  rounds: number,
  startWriter: () => Program,
): Promise<void> {
  const frame = new Uint8Array(frameBytes);
  for (let round = 1; round <= rounds; round++) {
    const writer = startWriter();
    assert.equal(await writer.next(), 'started');
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
    writer.child.kill('SIGKILL');
    assert.equal((await writer.exited).signal, 'SIGKILL');
    slot.fetchInto(frame);
    assert.ok(isWhole(frame), `round ${round}: the frame read after the kill is torn`);
    const startMs = performance.now();
    slot.assign(new Uint8Array(frameBytes).fill(round));
    const assignMs = performance.now() - startMs;
    assert.ok(assignMs < 1000, `round ${round}: assign took ${assignMs} ms`);
    slot.fetchInto(frame);
    assert.ok(isWhole(frame) && frame[0] === round, `round ${round}: read back ${frame[0]}`);
  }
}
