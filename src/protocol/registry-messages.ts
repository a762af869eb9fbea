/**
 * What a worker's link to the SharedObject name registry sends and receives
 * (transport/registry-link.ts), as data only.
 */
import type { MessagePort } from 'node:worker_threads';

/** What a worker asks the main thread. */
export type RegistryRequest =
  | {
      readonly type: 'register';
      readonly id: number;
      readonly name: string;
      readonly buffer: SharedArrayBuffer;
    }
  | { readonly type: 'lookup'; readonly id: number; readonly name: string }
  | { readonly type: 'remove'; readonly id: number; readonly name: string };

/**
 * The answer. `buffer` is, for register: the slot already holding the name (null when the new
 * one was registered); for lookup: the slot (null when missing); for remove: the removed slot.
 */
export interface RegistryResponse {
  readonly type: 'registry-response';
  readonly id: number;
  readonly buffer: SharedArrayBuffer | null;
}

/** The boot data a worker receives (inside workerData). */
export interface RegistryLinkData {
  readonly kind: 'keel.registry-link';
  readonly port: MessagePort;
  /** Int32 word 0 counts the answers posted on the port; the worker sleeps on it. */
  readonly signal: SharedArrayBuffer;
  readonly requestTimeoutMs: number;
}
