// Argument checks shared by every entry point of the addon. Each returns false after throwing
// a JavaScript error (a TypeError or RangeError naming the argument), so an entry point can
// `return nullptr` at once. The TypeScript module in src/platform/ validates first and turns
// anything that still fails here into a KeelError; these checks are the addon's own defence.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace keel {

// Throws `Error(message)` with `code` (an errno name such as "ENOENT") and `syscall`.
void ThrowErrno(napi_env env, int error_number, const char* syscall);

// Throws a TypeError or RangeError whose message is `message`.
void ThrowType(napi_env env, const char* message);
void ThrowRange(napi_env env, const char* message);

// The arguments of the current call; false (after throwing) when fewer than `count` were given.
bool GetArgs(napi_env env, napi_callback_info info, size_t count, napi_value* args);

// A string without embedded NUL bytes, at most `max_bytes` UTF-8 bytes.
bool GetString(napi_env env, napi_value value, size_t max_bytes, std::string* out);

// A finite integer in [min, max] (doubles: sizes up to 2^53).
bool GetInteger(napi_env env, napi_value value, double min, double max, int64_t* out);

// A number >= 0 or Infinity (a timeout in milliseconds); Infinity gives -1.
bool GetTimeoutMs(napi_env env, napi_value value, double* out);

// An Int32Array and a word index inside it: the address of that word. `words` is how many
// consecutive words from `index` must lie inside the array; `align` the address alignment.
bool GetWord(napi_env env, napi_value array, napi_value index, size_t words, size_t align,
             int32_t** out);

// The first four arguments of wait and waitAsync: (int32Array, index, expected, timeoutMs).
bool GetWaitArgs(napi_env env, const napi_value* args, int32_t** word, int32_t* expected,
                 double* timeout_ms);

napi_value MakeString(napi_env env, const char* text);

}  // namespace keel
