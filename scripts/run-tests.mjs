// Runs every test file under test/ with Node's test runner. Tests are TypeScript, executed by
// tsx; they import the built package (`keel`), so `npm test` builds first. --expose-gc lets the
// arena tests force the collections that return shared memory.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filter = process.argv.slice(2);
const files = readdirSync('test', { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.test.ts'))
  .filter((file) => filter.length === 0 || filter.some((word) => file.includes(word)))
  .sort()
  .map((file) => join('test', file));

const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--test', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
