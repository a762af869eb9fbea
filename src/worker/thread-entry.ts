/**
 * The entry every keel worker thread boots: it joins the SharedObject name registry, adopts the
 * arena it shares with its caller, then serves its role.
 */
import { threadCallerChannel } from '../transport/far-side/caller-channel.js';
import { connectRegistryLink } from '../transport/registry-link.js';
import { adoptArena } from './boot-context.js';
import { serve } from './serve.js';

const channel = threadCallerChannel();
const boot = channel.bootData as { registry?: unknown; arena?: unknown };
if (boot.registry !== undefined) connectRegistryLink(boot.registry);
adoptArena(boot.arena, 'transfer');
serve(channel);
