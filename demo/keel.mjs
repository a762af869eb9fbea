// Where the demo and its worker modules take keel from: the built package (dist/index.js, as
// the README's `npm run demo` builds it).
//
// Importing this module fails with ERR_MODULE_NOT_FOUND when keel is not built; demo/index.mjs
// turns that into a hint to run `npm run build`.

export {
  spawn,
  close,
  Pool,
  SharedObject,
  RealtimeLoop,
  monitorLoop,
  nativeStatus,
  scheduling,
} from '../dist/index.js';
