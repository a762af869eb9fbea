import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { fixturePath } from './helpers.ts';
import { kCallerRoot, kNeedsRedis, RedisServer, uniqueQueue } from './queue-helpers.ts';

// docs/queue.md's security advice, for real: a Redis that speaks only TLS and requires a
// password, reached with rediss://:password@host. A process that trusts the server's CA runs
// jobs through it; one that does not gets ERR_UNAVAILABLE naming the certificate problem, with
// the password never shown.

const kOpenssl = spawnSync('openssl', ['version']).status === 0;
const kSkip = kNeedsRedis.skip ?? (kOpenssl ? undefined : 'openssl is not installed');

/** A CA and a server certificate for 127.0.0.1, made with openssl in `dir`. */
function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const run = (args: string[]): void => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]}: ${result.stderr}`);
  };
  const subject = (name: string): string[] => ['-subj', `/CN=${name}`];
  run(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt'].concat(
      ['-days', '2'],
      subject('keel test CA'),
    ),
  );
  run(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr'].concat(
      subject('127.0.0.1'),
    ),
  );
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key'].concat([
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'san.cnf',
    ]),
  );
  return {
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
}

describe('keel/queue over TLS with a password', { skip: kSkip, timeout: 60_000 }, () => {
  const password = 'open sesame';
  let dir: string;
  let caFile: string;
  let redis: RedisServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-queue-tls-'));
    const files = makeCertificates(dir);
    caFile = files.caFile;
    redis = await RedisServer.start({ ...files, password });
  });

  after(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const roundTrip = (url: string, env: NodeJS.ProcessEnv): Record<string, unknown> => {
    const result = spawnSync(
      process.execPath,
      [
        fixturePath('queue-scripts/tls-round-trip.mjs'),
        url,
        uniqueQueue('tls'),
        kCallerRoot,
        pathToFileURL(kCallerRoot).href,
      ],
      { encoding: 'utf8', timeout: 30_000, env },
    );
    assert.equal(result.signal, null, 'the process had to be killed');
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };

  it('runs a job through rediss:// when the server certificate is trusted', () => {
    const outcome = roundTrip(redis.url, { ...process.env, NODE_EXTRA_CA_CERTS: caFile });
    assert.deepEqual(outcome, { sum: 42 });
  });

  it('refuses an untrusted certificate with ERR_UNAVAILABLE, the password hidden', () => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const outcome = roundTrip(redis.url, env);
    assert.equal(outcome.code, 'ERR_UNAVAILABLE');
    assert.match(String(outcome.message), /certificate/i);
    assert.ok(!String(outcome.message).includes('sesame'), String(outcome.message));
  });

  it('a wrong password is ERR_UNAVAILABLE too, not a hang', () => {
    const wrong = redis.url.replace(encodeURIComponent(password), 'nope');
    const outcome = roundTrip(wrong, { ...process.env, NODE_EXTRA_CA_CERTS: caFile });
    assert.equal(outcome.code, 'ERR_UNAVAILABLE');
    assert.match(String(outcome.message), /WRONGPASS/);
    assert.ok(!String(outcome.message).includes('nope'), String(outcome.message));
  });
});
