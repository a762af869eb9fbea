#include "args.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>

namespace keel {

namespace {

const char* ErrnoName(int error_number) {
  switch (error_number) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case ENOSPC: return "ENOSPC";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EFBIG: return "EFBIG";
    case EBADF: return "EBADF";
    case ENOSYS: return "ENOSYS";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EDEADLK: return "EDEADLK";
    case EAGAIN: return "EAGAIN";
    case ESRCH: return "ESRCH";
    default: return "EUNKNOWN";
  }
}

}  // namespace

void ThrowErrno(napi_env env, int error_number, const char* syscall) {
  std::string message = std::string(syscall) + ": " + std::strerror(error_number);
  napi_value text, error, code, call, number;
  if (napi_create_string_utf8(env, message.c_str(), message.size(), &text) != napi_ok) return;
  if (napi_create_error(env, nullptr, text, &error) != napi_ok) return;
  napi_create_string_utf8(env, ErrnoName(error_number), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &call);
  napi_create_int32(env, error_number, &number);
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "syscall", call);
  napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
}

void ThrowType(napi_env env, const char* message) { napi_throw_type_error(env, nullptr, message); }

void ThrowRange(napi_env env, const char* message) { napi_throw_range_error(env, nullptr, message); }

bool GetArgs(napi_env env, napi_callback_info info, size_t count, napi_value* args) {
  size_t given = count;
  if (napi_get_cb_info(env, info, &given, args, nullptr, nullptr) != napi_ok) return false;
  if (given < count) {
    ThrowType(env, "too few arguments");
    return false;
  }
  return true;
}

bool GetString(napi_env env, napi_value value, size_t max_bytes, std::string* out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    ThrowType(env, "expected a string");
    return false;
  }
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) return false;
  if (length > max_bytes) {
    ThrowRange(env, "string too long");
    return false;
  }
  out->assign(length + 1, '\0');
  size_t copied = 0;
  if (napi_get_value_string_utf8(env, value, out->data(), length + 1, &copied) != napi_ok) {
    return false;
  }
  out->resize(copied);
  if (std::strlen(out->c_str()) != copied) {
    ThrowType(env, "string contains a NUL character");
    return false;
  }
  return true;
}

bool GetInteger(napi_env env, napi_value value, double min, double max, int64_t* out) {
  napi_valuetype type;
  double number = 0;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, value, &number) != napi_ok) {
    ThrowType(env, "expected a number");
    return false;
  }
  if (!std::isfinite(number) || std::trunc(number) != number || number < min || number > max) {
    ThrowRange(env, "integer out of range");
    return false;
  }
  *out = static_cast<int64_t>(number);
  return true;
}

bool GetTimeoutMs(napi_env env, napi_value value, double* out) {
  napi_valuetype type;
  double number = 0;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, value, &number) != napi_ok) {
    ThrowType(env, "expected a timeout in milliseconds");
    return false;
  }
  if (std::isnan(number) || number < 0) {
    ThrowRange(env, "timeout must be >= 0");
    return false;
  }
  *out = std::isinf(number) ? -1 : number;
  return true;
}

bool GetWord(napi_env env, napi_value array, napi_value index, size_t words, size_t align,
             int32_t** out) {
  bool is_typed = false;
  if (napi_is_typedarray(env, array, &is_typed) != napi_ok || !is_typed) {
    ThrowType(env, "expected an Int32Array");
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, array, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array) {
    ThrowType(env, "expected an Int32Array");
    return false;
  }
  int64_t at = 0;
  if (!GetInteger(env, index, 0, 9007199254740991.0, &at)) return false;
  // Written so that no sum can overflow: at < length and words <= length - at.
  if (data == nullptr || static_cast<uint64_t>(at) >= length ||
      words > length - static_cast<size_t>(at)) {
    ThrowRange(env, "word index out of range");
    return false;
  }
  int32_t* word = static_cast<int32_t*>(data) + at;
  if (reinterpret_cast<uintptr_t>(word) % align != 0) {
    ThrowRange(env, "word is not aligned");
    return false;
  }
  *out = word;
  return true;
}

bool GetWaitArgs(napi_env env, const napi_value* args, int32_t** word, int32_t* expected,
                 double* timeout_ms) {
  if (!GetWord(env, args[0], args[1], 1, 4, word)) return false;
  int64_t value = 0;
  if (!GetInteger(env, args[2], INT32_MIN, INT32_MAX, &value)) return false;
  *expected = static_cast<int32_t>(value);
  return GetTimeoutMs(env, args[3], timeout_ms);
}

napi_value MakeString(napi_env env, const char* text) {
  napi_value value = nullptr;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &value);
  return value;
}

}  // namespace keel
