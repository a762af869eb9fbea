// The addon's entry: registers each function on the module's exports. native/CONTRACT.md
// describes every function; src/platform/native.ts is the only module that loads this one.
#include <node_api.h>

#include "futex.h"
#include "robust-mutex.h"
#include "args.h"
#include "scheduling.h"
#include "segments.h"
#include "uring-waiter.h"
#include "waiter.h"

namespace keel {

namespace {

// features(): { futexWaitv, asyncWait } where asyncWait says how async waits are served:
// 'io_uring' (uring-waiter.cc), 'futex_waitv' (a waiter thread, waiter.cc) or 'poll' (a
// waiter thread looking every millisecond, on kernels before 5.16).
napi_value Features(napi_env env, napi_callback_info /*info*/) {
  napi_value result, waitv;
  napi_create_object(env, &result);
  napi_get_boolean(env, HasFutexWaitv(), &waitv);
  napi_set_named_property(env, result, "futexWaitv", waitv);
  const char* mode = UringSupported() ? "io_uring" : HasFutexWaitv() ? "futex_waitv" : "poll";
  napi_set_named_property(env, result, "asyncWait", MakeString(env, mode));
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor functions[] = {
      {"openSegment", nullptr, OpenSegment, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"unlinkSegment", nullptr, UnlinkSegment, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"createAnonymous", nullptr, CreateAnonymous, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mapDescriptor", nullptr, MapDescriptor, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"closeDescriptor", nullptr, CloseDescriptor, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"wait", nullptr, Wait, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"wake", nullptr, Wake, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"waitAsync", nullptr, WaitAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mutexInit", nullptr, MutexInit, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mutexLock", nullptr, MutexLock, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mutexUnlock", nullptr, MutexUnlock, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mutexWords", nullptr, MutexWords, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreadScheduling", nullptr, SetThreadScheduling, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreadAffinity", nullptr, SetThreadAffinity, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"threadScheduling", nullptr, ThreadScheduling, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"features", nullptr, Features, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  return exports;
}

}  // namespace

}  // namespace keel

NAPI_MODULE_INIT() { return keel::Init(env, exports); }
