// Shared memory mapped as SharedArrayBuffers: named POSIX segments (shm_open) and anonymous
// memory (memfd_create) whose descriptor a child inherits at spawn.
//
// Node-API before Node 24.16 cannot wrap external memory in a SharedArrayBuffer, so this file
// uses V8's SharedArrayBuffer::NewBackingStore with a deleter that unmaps, and hands the result
// back through Node-API: a napi_value is the address of a V8 handle slot, exactly what a
// v8::Local holds (Node's own js_native_api_v8.h converts the same way).
#include "segments.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <v8.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"

namespace keel {

namespace {

// POSIX allows names up to NAME_MAX (255) bytes including the leading slash.
constexpr size_t kMaxNameBytes = 255;
// The largest buffer V8 will let JavaScript read (typed arrays over more are refused, and a
// larger SharedArrayBuffer would be unusable): 2^32 bytes on Node 20's 64-bit V8.
constexpr double kMaxSegmentBytes = static_cast<double>(v8::TypedArray::kMaxLength);

void Unmap(void* data, size_t length, void* /*deleter_data*/) { munmap(data, length); }

// Wraps `length` mapped bytes at `data` in a SharedArrayBuffer that unmaps them when the last
// reference in any thread of this process is gone.
napi_value WrapMapping(napi_env env, void* data, size_t length) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(data, length, Unmap, nullptr);
  v8::Local<v8::SharedArrayBuffer> buffer = v8::SharedArrayBuffer::New(isolate, std::move(store));
  napi_value result;
  static_assert(sizeof(result) == sizeof(buffer), "napi_value and v8::Local differ in size");
  std::memcpy(static_cast<void*>(&result), &buffer, sizeof(result));
  (void)env;
  return result;
}

// Maps all `length` bytes of `fd` read-write and shared; nullptr after throwing.
napi_value MapAndWrap(napi_env env, int fd, size_t length) {
  void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    ThrowErrno(env, errno, "mmap");
    return nullptr;
  }
  return WrapMapping(env, data, length);
}

// A name as shm_open wants it: "/" then 1 to 254 bytes, no other slash.
bool GetSegmentName(napi_env env, napi_value value, std::string* name) {
  if (!GetString(env, value, kMaxNameBytes, name)) return false;
  if (name->size() < 2 || (*name)[0] != '/' || name->find('/', 1) != std::string::npos) {
    ThrowRange(env, "segment name must be '/' followed by 1 to 254 bytes without '/'");
    return false;
  }
  return true;
}

// The size of an open descriptor, which must be mappable (more than 0 bytes).
bool SizeOf(napi_env env, int fd, size_t* length) {
  struct stat info;
  if (fstat(fd, &info) != 0) {
    ThrowErrno(env, errno, "fstat");
    return false;
  }
  if (info.st_size <= 0) {
    ThrowErrno(env, EINVAL, "fstat (empty segment)");
    return false;
  }
  *length = static_cast<size_t>(info.st_size);
  return true;
}

}  // namespace

// openSegment(name, create, mode, bytes): SharedArrayBuffer.
// create: O_CREAT | O_EXCL with exactly `mode` (umask does not apply), `bytes` reserved up front
// (posix_fallocate: a full /dev/shm fails here with ENOSPC, not later with SIGBUS on a write).
// Otherwise opens an existing segment and maps its whole size (`bytes` ignored).
napi_value OpenSegment(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!GetArgs(env, info, 4, args)) return nullptr;
  std::string name;
  if (!GetSegmentName(env, args[0], &name)) return nullptr;
  bool create = false;
  if (napi_get_value_bool(env, args[1], &create) != napi_ok) {
    ThrowType(env, "create must be a boolean");
    return nullptr;
  }
  int64_t mode = 0, bytes = 0;
  if (!GetInteger(env, args[2], 0, 0777, &mode)) return nullptr;
  if (!GetInteger(env, args[3], 0, kMaxSegmentBytes, &bytes)) return nullptr;
  if (create && bytes == 0) {
    ThrowRange(env, "a new segment needs at least one byte");
    return nullptr;
  }
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  int fd = shm_open(name.c_str(), flags, static_cast<mode_t>(mode));
  if (fd < 0) {
    ThrowErrno(env, errno, "shm_open");
    return nullptr;
  }
  size_t length = static_cast<size_t>(bytes);
  if (create) {
    int error = fchmod(fd, static_cast<mode_t>(mode)) != 0 ? errno : 0;
    if (error == 0) error = posix_fallocate(fd, 0, static_cast<off_t>(bytes));
    if (error != 0) {
      close(fd);
      shm_unlink(name.c_str());
      ThrowErrno(env, error, error == ENOSPC ? "posix_fallocate" : "fchmod");
      return nullptr;
    }
  } else if (!SizeOf(env, fd, &length)) {
    close(fd);
    return nullptr;
  }
  if (static_cast<double>(length) > kMaxSegmentBytes) {
    close(fd);
    ThrowRange(env, "segment larger than a SharedArrayBuffer can be");
    return nullptr;
  }
  napi_value buffer = MapAndWrap(env, fd, length);
  close(fd);  // the mapping keeps the memory; the descriptor is not needed any more
  if (buffer == nullptr && create) shm_unlink(name.c_str());
  return buffer;
}

// unlinkSegment(name): removes the name; mappings stay valid until unmapped.
napi_value UnlinkSegment(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!GetArgs(env, info, 1, args)) return nullptr;
  std::string name;
  if (!GetSegmentName(env, args[0], &name)) return nullptr;
  if (shm_unlink(name.c_str()) != 0) {
    ThrowErrno(env, errno, "shm_unlink");
    return nullptr;
  }
  return nullptr;
}

// createAnonymous(bytes, label): { fd, buffer }. Memory with no name: it disappears with the
// last descriptor and mapping, so a crash anywhere leaves nothing behind. The descriptor is
// close-on-exec; a child gets it only when passed explicitly (stdio at spawn).
napi_value CreateAnonymous(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!GetArgs(env, info, 2, args)) return nullptr;
  int64_t bytes = 0;
  if (!GetInteger(env, args[0], 1, kMaxSegmentBytes, &bytes)) return nullptr;
  std::string label;
  if (!GetString(env, args[1], 200, &label)) return nullptr;
  int fd = memfd_create(label.c_str(), MFD_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, errno, "memfd_create");
    return nullptr;
  }
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    int error = errno;
    close(fd);
    ThrowErrno(env, error, "ftruncate");
    return nullptr;
  }
  napi_value buffer = MapAndWrap(env, fd, static_cast<size_t>(bytes));
  if (buffer == nullptr) {
    close(fd);
    return nullptr;
  }
  napi_value result, descriptor;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &descriptor);
  napi_set_named_property(env, result, "fd", descriptor);
  napi_set_named_property(env, result, "buffer", buffer);
  return result;
}

// mapDescriptor(fd): SharedArrayBuffer over all of an inherited descriptor's memory.
napi_value MapDescriptor(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!GetArgs(env, info, 1, args)) return nullptr;
  int64_t fd = 0;
  if (!GetInteger(env, args[0], 0, 2147483647.0, &fd)) return nullptr;
  size_t length = 0;
  if (!SizeOf(env, static_cast<int>(fd), &length)) return nullptr;
  if (static_cast<double>(length) > kMaxSegmentBytes) {
    ThrowRange(env, "memory larger than a SharedArrayBuffer can be");
    return nullptr;
  }
  return MapAndWrap(env, static_cast<int>(fd), length);
}

// closeDescriptor(fd).
napi_value CloseDescriptor(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!GetArgs(env, info, 1, args)) return nullptr;
  int64_t fd = 0;
  if (!GetInteger(env, args[0], 0, 2147483647.0, &fd)) return nullptr;
  if (close(static_cast<int>(fd)) != 0) ThrowErrno(env, errno, "close");
  return nullptr;
}

}  // namespace keel
