/**
 * The entry every keel child process boots.
 */
import { processCallerChannel } from '../transport/far-side/caller-channel.js';
import { serve } from './serve.js';

serve(await processCallerChannel());
