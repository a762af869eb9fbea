/**
 * The entry every keel worker thread boots.
 */
import { threadCallerChannel } from '../transport/far-side.js';
import { serve } from './serve.js';

serve(threadCallerChannel());
