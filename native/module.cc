// The addon's entry: registers each function on the module's exports. native/CONTRACT.md
// describes every function; src/platform/native.ts is the only module that loads this one.
#include <node_api.h>

#include "futex.h"
#include "robust-mutex.h"
#include "segments.h"
#include "waiter.h"

namespace keel {

namespace {

napi_value Features(napi_env env, napi_callback_info /*info*/) {
  napi_value result, waitv;
  napi_create_object(env, &result);
  napi_get_boolean(env, HasFutexWaitv(), &waitv);
  napi_set_named_property(env, result, "futexWaitv", waitv);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor functions[] = {
      {"openSegment", nullptr, OpenSegment, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"unlinkSegment", nullptr, UnlinkSegment, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"createAnonymous", nullptr, CreateAnonymous, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mapDescriptor", nullptr, MapDescriptor, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"closeDescriptor", nullptr, CloseDescriptor, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"isMapped", nullptr, IsMapped, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"wait", nullptr, Wait, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"wake", nullptr, Wake, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"waitAsync", nullptr, WaitAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mutexInit", nullptr, MutexInit, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mutexLock", nullptr, MutexLock, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mutexUnlock", nullptr, MutexUnlock, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mutexWords", nullptr, MutexWords, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"features", nullptr, Features, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  return exports;
}

}  // namespace

}  // namespace keel

NAPI_MODULE_INIT() { return keel::Init(env, exports); }
