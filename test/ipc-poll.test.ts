// The IPC poller keeps an event loop turning (never blocked) for a message due soon after a send,
// only while such messages keep coming inside its window, and never past the window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { IpcPoller } from '../dist/transport/ipc-poll.js';

const immediatesPending = () =>
  process.getActiveResourcesInfo().filter((resource) => resource === 'Immediate').length;

test('after a send the loop keeps turning until the answer arrives, and stops at once then', async () => {
  const poller = new IpcPoller(10_000_000); // 10 s: far longer than the test, however loaded the machine
  const before = immediatesPending();
  poller.sent();
  assert.equal(immediatesPending(), before + 1, 'a turn is scheduled');
  let timerRan = false;
  setTimeout(() => (timerRan = true), 1);
  await delay(5);
  assert.ok(timerRan, 'timers still run: the loop is turning, not blocked');
  assert.equal(immediatesPending(), before + 1, 'still turning while the answer is due');
  poller.received();
  await nextTurn();
  await nextTurn();
  assert.equal(immediatesPending(), before, 'no turn left once the answer is in');
});

/**
 * Holds this thread until `ms` have passed by the clock. A timer would not do: libuv's loop time
 * is cached, so on a loaded machine `setTimeout(fn, 1)` can fire well under 1 ms after a send,
 * an answer inside a 0.2 ms window that the test meant to be late.
 */
function holdFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a window that runs out ends the turning; two in a row stop polling until a probe', async () => {
  const poller = new IpcPoller(200); // 0.2 ms
  const before = immediatesPending();
  for (let miss = 0; miss < 2; miss++) {
    poller.sent();
    assert.equal(immediatesPending(), before + 1, `send ${miss + 1} polls`);
    holdFor(1); // the window runs out with no answer
    await nextTurn(); // the chain's pending turn sees the deadline
    assert.equal(immediatesPending(), before, 'nothing keeps turning past the window');
    poller.received(); // the late answer
  }
  // Answers keep coming late (after the window): only probes poll, one send in 16 at first.
  let polled = 0;
  for (let send = 0; send < 32; send++) {
    poller.sent();
    if (immediatesPending() > before) polled++;
    holdFor(1);
    poller.received();
    await nextTurn(); // a probe's chain sees its window closed and ends
  }
  assert.ok(polled >= 1 && polled <= 2, `after two misses only probes poll (${polled} of 32)`);
  // One answer inside a probe's window turns polling back on. A 5 ms window: an answer given
  // at once stays inside it even when this process is descheduled between the two calls.
  const reprobe = new IpcPoller(5000);
  for (let miss = 0; miss < 2; miss++) {
    reprobe.sent();
    holdFor(6);
    reprobe.received();
    await nextTurn();
  }
  let resumed = 0;
  for (let send = 0; send < 20; send++) {
    reprobe.sent();
    if (immediatesPending() > before) resumed++;
    reprobe.received(); // at once: within any window
    await nextTurn();
  }
  assert.ok(resumed >= 18, `quick answers bring polling back (${resumed} of 20 sends polled)`);
});

test('answers that keep arriving inside the window keep the polling on', async () => {
  const poller = new IpcPoller(10_000_000);
  const before = immediatesPending();
  let polled = 0;
  for (let send = 0; send < 50; send++) {
    poller.sent();
    if (immediatesPending() > before) polled++;
    await nextTurn();
    poller.received();
  }
  await nextTurn();
  await nextTurn();
  assert.equal(polled, 50);
  assert.equal(immediatesPending(), before);
});

test('an answer after the deadline is a miss even before the turning noticed the deadline', async () => {
  // A process descheduled past its window runs the answer's callback before the turn that would
  // close the window; blocking this thread past the deadline stands for that.
  const poller = new IpcPoller(200);
  const before = immediatesPending();
  for (let miss = 0; miss < 2; miss++) {
    poller.sent();
    const untilMs = performance.now() + 2;
    while (performance.now() < untilMs); // no turn can run: the window is still open
    poller.received();
  }
  await nextTurn();
  await nextTurn();
  assert.equal(immediatesPending(), before, 'the chain ended with the windows');
  // Two late answers are two misses: the next sends (not probes yet) open no window.
  let polled = 0;
  for (let send = 0; send < 5; send++) {
    poller.sent();
    if (immediatesPending() > before) polled++;
  }
  assert.equal(polled, 0, `two late answers stop the polling (${polled} of 5 sends polled)`);
});
