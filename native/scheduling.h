#pragma once
#include <node_api.h>

namespace keel {
// setThreadScheduling(policy, rtPriority, nice): the calling thread's scheduling class.
napi_value SetThreadScheduling(napi_env env, napi_callback_info info);
// setThreadAffinity(cpus): the CPUs the calling thread may run on.
napi_value SetThreadAffinity(napi_env env, napi_callback_info info);
// threadScheduling(tid): what the OS applies to a thread (0: the calling one), read back.
napi_value ThreadScheduling(napi_env env, napi_callback_info info);
}  // namespace keel
