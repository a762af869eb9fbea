#pragma once
#include <node_api.h>

namespace keel {
napi_value OpenSegment(napi_env env, napi_callback_info info);
napi_value UnlinkSegment(napi_env env, napi_callback_info info);
napi_value CreateAnonymous(napi_env env, napi_callback_info info);
napi_value MapDescriptor(napi_env env, napi_callback_info info);
napi_value CloseDescriptor(napi_env env, napi_callback_info info);
}  // namespace keel
