/**
 * SharedObject's public surface, for src/index.ts to re-export by name.
 */
export { SharedObject, sharedObjectHandlesMade } from './shared-object.js';
export { reviveSharedObjects } from './revive.js';
export type {
  ChangedOptions,
  ClonedSharedObject,
  Shareable,
  SharedLeaf,
  SharedObjectInfo,
  SharedObjectOptions,
  SharedObjectScope,
  SharedValue,
  Widen,
} from './types.js';
