#pragma once
#include <node_api.h>

#include <cstdint>

namespace keel {
// waitAsync(int32Array, index, expected, timeoutMs, keepAlive): Promise<'ok' | 'timed-out'>.
napi_value WaitAsync(napi_env env, napi_callback_info info);
// Whether the kernel has futex_waitv (Linux >= 5.16); without it async waits poll every 1 ms.
bool HasFutexWaitv();
// Settles, as woken, this environment's pending async waits on `word`; returns how many. A wake
// from the waiting thread itself (a cancel: the word unchanged) must not depend on futex_waitv,
// which reports one woken word per return: two words woken at the same instant lose one wake,
// and only a change of the word itself would still be seen.
int SettleWaitsOn(napi_env env, int32_t* word);
}  // namespace keel
