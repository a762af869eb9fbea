#pragma once
#include <node_api.h>

namespace keel {
napi_value MutexInit(napi_env env, napi_callback_info info);
napi_value MutexLock(napi_env env, napi_callback_info info);
napi_value MutexUnlock(napi_env env, napi_callback_info info);
// How many Int32 words a mutex takes (sizeof(pthread_mutex_t) rounded up).
napi_value MutexWords(napi_env env, napi_callback_info info);
}  // namespace keel
