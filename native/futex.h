#pragma once
#include <node_api.h>

#include <cstdint>
#include <ctime>

namespace keel {
napi_value Wait(napi_env env, napi_callback_info info);
napi_value Wake(napi_env env, napi_callback_info info);

// CLOCK_MONOTONIC now, in nanoseconds.
int64_t MonotonicNowNs();
// A CLOCK_MONOTONIC deadline `ms` from now (ms >= 0).
int64_t DeadlineAfterMs(double ms);
timespec ToTimespec(int64_t ns);

// Raw futex calls on a 32-bit word. `shared`: without FUTEX_PRIVATE_FLAG, so that waiters in
// other processes, or at another address of the same memory, are woken too.
long FutexWait(int32_t* word, int32_t expected, const timespec* relative, bool shared);
long FutexWake(int32_t* word, int count, bool shared);
}  // namespace keel
