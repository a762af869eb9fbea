#pragma once
#include <node_api.h>

#include <cstdint>

namespace keel {

// One environment's io_uring futex waits (uring-waiter.cc).
struct UringWaiter;

// Whether this process can wait on futexes through io_uring (probed once).
bool UringSupported();

// This environment's io_uring waiter, or null where io_uring futex waits are unavailable (then
// waiter.cc's thread serves). KEEL_NATIVE_NO_URING in the environment forces null (tests).
UringWaiter* CreateUringWaiter(napi_env env);

// Submits a wait on `word` (in `array`, kept alive until it settles) and sets `*promise`; false
// after throwing. timeout_ms < 0: none.
bool UringWaitAsync(UringWaiter* waiter, napi_value array, int32_t* word, int32_t expected,
                    double timeout_ms, bool keep_alive, napi_value* promise);

// Settles, as woken, this environment's pending waits on `word` after withdrawing them from
// the kernel; returns how many. On the JS thread, inside a call from JavaScript.
int UringSettleWaitsOn(UringWaiter* waiter, int32_t* word);

}  // namespace keel
