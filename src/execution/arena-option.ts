/**
 * The `arena` option of Pool, spawn, iterateInWorker and DataLoader, in one place: an Arena the
 * caller made (and closes), or arena options, from which the API builds one that it owns and
 * closes when its work ends (a pool or loader closed, a remote or stream whose worker exited).
 */
import { invalidArgument } from '../errors.js';
import { Arena, type ArenaOptions } from '../memory/arena/index.js';

/** The arena an API works with, and whether it built it (and so must close it). */
export interface ArenaChoice {
  readonly arena: Arena | undefined;
  /** Built from options: the API closes it when its work ends. */
  readonly owned: boolean;
}

const kNoArena: ArenaChoice = { arena: undefined, owned: false };

/**
 * The arena an option names: the given one, or a new one built from options (the one thing an
 * API's validation allocates: call it last). Throws ERR_INVALID_ARGUMENT for a closed Arena or
 * anything that is neither an Arena nor valid arena options.
 */
export function arenaFromOption(option: Arena | ArenaOptions | undefined): ArenaChoice {
  if (option === undefined) return kNoArena;
  if (option instanceof Arena) {
    // A closed arena would only fail later, inside the first thread start.
    if (option.closed) throw invalidArgument('arena', 'an Arena that is not closed', option);
    return { arena: option, owned: false };
  }
  if (typeof option !== 'object' || option === null) {
    throw invalidArgument('arena', 'an Arena or arena options', option);
  }
  return { arena: new Arena(option), owned: true };
}

/** Closes the arena of `settings` if the API built it (a caller's own stays open). Idempotent. */
export function closeOwnedArena(settings: {
  readonly arena: Arena | undefined;
  readonly ownsArena: boolean;
}): void {
  if (settings.ownsArena) settings.arena?.close();
}
