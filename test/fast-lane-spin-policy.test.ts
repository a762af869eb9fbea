// The adaptive spin policy of the fast lane: spin while answers arrive inside the window,
// stop after misses, probe now and then, and resume on the first hit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveSpin } from '../dist/transport/fast-lane/spin-policy.js';

test('the policy spins the full window while waits hit, and keeps spinning through a single miss', () => {
  const spin = new AdaptiveSpin({ maxSpinUs: 50 });
  for (let i = 0; i < 10; i++) {
    assert.equal(spin.budgetUs(), 50);
    spin.record(true);
  }
  spin.record(false);
  assert.equal(spin.spinning, true);
  assert.equal(spin.budgetUs(), 50);
});

/** The budgets of the next `count` waits, each recorded as a miss when it spun. */
function budgetsWhileMissing(spin: AdaptiveSpin, count: number): number[] {
  return Array.from({ length: count }, () => {
    const budgetUs = spin.budgetUs();
    if (budgetUs > 0) spin.record(false);
    return budgetUs;
  });
}

test('two misses in a row stop spinning, every probeEvery-th wait probes, and a probe hit resumes', () => {
  const spin = new AdaptiveSpin({ maxSpinUs: 30, probeEvery: 4 });
  spin.record(false);
  spin.record(false);
  assert.equal(spin.spinning, false);
  assert.deepEqual(budgetsWhileMissing(spin, 4), [0, 0, 0, 30], 'the fourth wait probes');
  assert.deepEqual(budgetsWhileMissing(spin, 8), [0, 0, 0, 0, 0, 0, 0, 30], 'then every 8th');
  const nextBudgets = Array.from({ length: 16 }, () => spin.budgetUs());
  assert.equal(nextBudgets.indexOf(30), 15, 'then every 16th');
  spin.record(true); // that probe hits
  assert.equal(spin.spinning, true);
  assert.equal(spin.budgetUs(), 30);
});

test('failed probes back off exponentially up to one probe in 256 waits, and a hit restores the first interval', () => {
  const spin = new AdaptiveSpin({ maxSpinUs: 10 });
  spin.record(false);
  spin.record(false);
  const probeGaps: number[] = [];
  let sinceProbe = 0;
  for (const budgetUs of budgetsWhileMissing(spin, 16 + 32 + 64 + 128 + 256 * 3)) {
    sinceProbe++;
    if (budgetUs > 0) {
      probeGaps.push(sinceProbe);
      sinceProbe = 0;
    }
  }
  assert.deepEqual(probeGaps, [16, 32, 64, 128, 256, 256, 256]);
  spin.budgetUs();
  spin.record(true);
  spin.record(false);
  spin.record(false);
  assert.deepEqual(budgetsWhileMissing(spin, 16).filter((budgetUs) => budgetUs > 0).length, 1);
});

test('a sleep that ended inside the window makes the next wait probe at once, unless a probe failed since the last hit', () => {
  const spin = new AdaptiveSpin({ maxSpinUs: 50 });
  spin.record(false);
  spin.record(false);
  spin.recordSleep(80); // too slow: a spin would not have caught it
  assert.equal(spin.budgetUs(), 0);
  spin.recordSleep(3);
  assert.equal(spin.budgetUs(), 50, 'probes at once');
  spin.record(false); // that probe fails: the interval doubles to 32
  spin.recordSleep(3);
  assert.deepEqual(
    budgetsWhileMissing(spin, 31),
    Array.from({ length: 31 }, () => 0),
  );
  assert.equal(spin.budgetUs(), 50, 'only the backed-off schedule probes now');
  spin.record(true);
  spin.recordSleep(3);
  assert.equal(spin.budgetUs(), 50, 'spinning again; a sleep report changes nothing');
});

test('two ends sharing one core (every probe fails, every sleep is short) back off to rare probes', () => {
  // What the "unless a probe failed" condition is for: without it, every short sleep would
  // make the next wait a probe that starves the other end of the core it needs to answer.
  const spin = new AdaptiveSpin({ maxSpinUs: 50 });
  spin.record(false);
  spin.record(false);
  let probes = 0;
  const waits = 4_000;
  for (let wait = 0; wait < waits; wait++) {
    if (spin.budgetUs() > 0) {
      probes++;
      spin.record(false);
    }
    spin.recordSleep(3);
  }
  assert.ok(probes <= 40, `${probes} probes in ${waits} waits`);
  assert.ok(probes >= 15, `${probes} probes: the schedule still probes`);
});

test('a window of zero never spins, and bad options are refused with their name', () => {
  const spin = new AdaptiveSpin({ maxSpinUs: 0 });
  for (let i = 0; i < 40; i++) assert.equal(spin.budgetUs(), 0);
  assert.throws(() => new AdaptiveSpin({ maxSpinUs: -1 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /maxSpinUs/,
  });
  assert.throws(() => new AdaptiveSpin({ maxSpinUs: Infinity }), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => new AdaptiveSpin({ maxSpinUs: 5, probeEvery: 0 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /probeEvery/,
  });
});

test('a probe spins probeSpinUs, the ordinary window stays maxSpinUs', () => {
  const spin = new AdaptiveSpin({ maxSpinUs: 100, probeEvery: 2, probeSpinUs: 300 });
  assert.equal(spin.budgetUs(), 100);
  spin.record(false);
  assert.equal(spin.budgetUs(), 100);
  spin.record(false);
  assert.deepEqual(budgetsWhileMissing(spin, 2), [0, 300], 'the probe is the longer spin');
  spin.record(true);
  assert.equal(spin.budgetUs(), 100, 'a hit brings the plain window back');
  assert.throws(() => new AdaptiveSpin({ maxSpinUs: 10, probeSpinUs: -1 }), /probeSpinUs/);
  assert.equal(new AdaptiveSpin({ maxSpinUs: 0, probeSpinUs: 300 }).budgetUs(), 0);
});
