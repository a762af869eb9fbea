// Wait and wake on a 32-bit word of shared memory, across processes. V8's Atomics.wait and
// Atomics.notify keep their waiters in a per-process list keyed by address: they never wake a
// waiter in another process, nor one that mapped the same memory at another address. A Linux
// futex without FUTEX_PRIVATE_FLAG is keyed by the physical page, so it does both.
#include "futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>

#include "args.h"
#include "waiter.h"

namespace keel {

int64_t MonotonicNowNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

int64_t DeadlineAfterMs(double ms) {
  // Capped at about 292 years: a deadline that far is never reached, and the sum cannot overflow.
  double ns = std::fmin(ms * 1e6, 9.2e18 - static_cast<double>(MonotonicNowNs()));
  return MonotonicNowNs() + static_cast<int64_t>(ns);
}

timespec ToTimespec(int64_t ns) {
  if (ns < 0) ns = 0;
  timespec result;
  result.tv_sec = static_cast<time_t>(ns / 1000000000LL);
  result.tv_nsec = static_cast<long>(ns % 1000000000LL);
  return result;
}

long FutexWait(int32_t* word, int32_t expected, const timespec* relative, bool shared) {
  int op = FUTEX_WAIT | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  return syscall(SYS_futex, word, op, expected, relative, nullptr, 0);
}

long FutexWake(int32_t* word, int count, bool shared) {
  int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  return syscall(SYS_futex, word, op, count, nullptr, nullptr, 0);
}

// wait(int32Array, index, expected, timeoutMs): 'ok' | 'not-equal' | 'timed-out', like
// Atomics.wait. Blocks the calling thread; a signal's interruption resumes with the time left.
napi_value Wait(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!GetArgs(env, info, 4, args)) return nullptr;
  int32_t* word = nullptr;
  int32_t expected = 0;
  double timeout_ms = 0;
  if (!GetWaitArgs(env, args, &word, &expected, &timeout_ms)) return nullptr;
  const int64_t deadline = timeout_ms < 0 ? -1 : DeadlineAfterMs(timeout_ms);
  for (;;) {
    timespec relative;
    const timespec* limit = nullptr;
    if (deadline >= 0) {
      // A deadline already passed still waits once with a zero timeout: the kernel compares
      // the word first, so a word that does not hold `expected` answers 'not-equal' (as
      // Atomics.wait does with a timeout of 0), one that does answers 'timed-out'.
      relative = ToTimespec(deadline - MonotonicNowNs());
      limit = &relative;
    }
    if (FutexWait(word, expected, limit, true) == 0) {
      return MakeString(env, "ok");
    }
    if (errno == EAGAIN) return MakeString(env, "not-equal");
    if (errno == ETIMEDOUT) return MakeString(env, "timed-out");
    if (errno != EINTR) {
      ThrowErrno(env, errno, "futex");
      return nullptr;
    }
  }
}

// wake(int32Array, index, count): how many waiters were woken, in any process. count Infinity
// (or any count above INT_MAX) wakes all. This thread's own async waits on the word are settled
// directly, whatever `count` (see SettleWaitsOn), and first: io_uring waits are withdrawn from
// the kernel so that they take none of the count (a waiter thread still asleep on the word may
// take one); then up to `count` other waiters are woken.
napi_value Wake(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!GetArgs(env, info, 3, args)) return nullptr;
  int32_t* word = nullptr;
  if (!GetWord(env, args[0], args[1], 1, 4, &word)) return nullptr;
  double count = 0;
  if (!GetTimeoutMs(env, args[2], &count)) return nullptr;  // same rule: >= 0 or Infinity
  const int wake = count < 0 || count > INT_MAX ? INT_MAX : static_cast<int>(count);
  const int settled = SettleWaitsOn(env, word);
  // FUTEX_WAKE with a count of 0 wakes one waiter; Atomics.notify with 0 wakes none.
  const long woken = wake == 0 ? 0 : FutexWake(word, wake, true);
  if (woken < 0) {
    ThrowErrno(env, errno, "futex");
    return nullptr;
  }
  napi_value result;
  napi_create_int64(env, woken + settled, &result);
  return result;
}

}  // namespace keel
