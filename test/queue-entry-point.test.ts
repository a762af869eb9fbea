import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

// keel/queue is a second entry point: importing keel never loads bullmq or ioredis, and
// importing keel/queue where they are not installed fails with the command that installs them.

function runModule(
  source: string,
  imports: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
  const args = [
    ...imports.flatMap((entry) => ['--import', entry]),
    '--input-type=module',
    '-e',
    source,
  ];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A `--import` that registers `hooks` (the source of a module-customization hooks module). */
function withHooks(hooks: string): string {
  const registration = `import { register } from 'node:module';
    register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  return `data:text/javascript,${encodeURIComponent(registration)}`;
}

it('importing keel loads neither bullmq nor ioredis', () => {
  // Loading any file of either package throws: the import of keel must not notice.
  const refuse = withHooks(`export async function load(url, context, next) {
    if (/[\\/]node_modules[\\/](bullmq|ioredis)[\\/]/.test(url)) throw new Error('loaded ' + url);
    return next(url, context);
  }`);
  const keel = runModule(`await import('keel'); process.stdout.write('ok');`, [refuse]);
  assert.equal(keel.status, 0, keel.stderr);
  assert.equal(keel.stdout, 'ok');
  // The probe sees what keel/queue loads.
  const queue = runModule(
    `try { await import('keel/queue'); } catch (error) { process.stdout.write(error.message); }`,
    [refuse],
  );
  assert.match(queue.stdout, /^loaded .*node_modules\/(bullmq|ioredis)\//);
});

it('importing keel/queue without bullmq installed says what to install', () => {
  // A resolve hook that answers for bullmq as Node does when a package is not installed.
  const hooks = `export async function resolve(specifier, context, next) {
    if (specifier === 'bullmq') {
      const error = new Error("Cannot find package 'bullmq' imported from " + context.parentURL);
      error.code = 'ERR_MODULE_NOT_FOUND';
      throw error;
    }
    return next(specifier, context);
  }`;
  const result = runModule(
    `try { await import('keel/queue'); } catch (error) {
       process.stdout.write(JSON.stringify({ code: error.code, message: error.message }));
     }`,
    [withHooks(hooks)],
  );
  assert.equal(result.status, 0, result.stderr);
  const error = JSON.parse(result.stdout) as { code: string; message: string };
  assert.equal(error.code, 'ERR_NOT_FOUND');
  assert.match(error.message, /keel\/queue needs the packages bullmq and ioredis/);
  assert.match(error.message, /npm install bullmq ioredis/);
});
