// A writers' lock that survives its holder's death: a process-shared, robust pthread mutex in
// the shared segment. When a thread dies holding it (SIGKILL at any instruction, a terminated
// worker thread), the kernel marks it through the thread's robust list, and the next locker
// gets EOWNERDEAD instead of waiting forever; it repairs what the dead writer left and marks the
// mutex consistent. glibc keeps the list (set_robust_list) for every thread, including the
// pending-operation slot that covers a death between taking the lock and listing it.
#include "robust-mutex.h"

#include <pthread.h>
#include <time.h>

#include <cerrno>

#include "args.h"
#include "futex.h"

namespace keel {

namespace {

constexpr size_t kMutexWords = (sizeof(pthread_mutex_t) + 3) / 4;

bool GetMutex(napi_env env, napi_value array, napi_value index, pthread_mutex_t** out) {
  int32_t* word = nullptr;
  if (!GetWord(env, array, index, kMutexWords, alignof(pthread_mutex_t), &word)) return false;
  *out = reinterpret_cast<pthread_mutex_t*>(word);
  return true;
}

}  // namespace

// mutexInit(int32Array, index): makes the words at `index` a fresh, unlocked robust mutex.
// Only for memory no other thread uses yet (a segment being created).
napi_value MutexInit(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!GetArgs(env, info, 2, args)) return nullptr;
  pthread_mutex_t* mutex = nullptr;
  if (!GetMutex(env, args[0], args[1], &mutex)) return nullptr;
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  const int error = pthread_mutex_init(mutex, &attributes);
  pthread_mutexattr_destroy(&attributes);
  if (error != 0) ThrowErrno(env, error, "pthread_mutex_init");
  return nullptr;
}

// mutexLock(int32Array, index, timeoutMs): 'locked' | 'recovered' (the last holder died holding
// it: the caller must repair what it may have left half done) | 'timed-out'.
napi_value MutexLock(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!GetArgs(env, info, 3, args)) return nullptr;
  pthread_mutex_t* mutex = nullptr;
  if (!GetMutex(env, args[0], args[1], &mutex)) return nullptr;
  double timeout_ms = 0;
  if (!GetTimeoutMs(env, args[2], &timeout_ms)) return nullptr;
  int error;
  if (timeout_ms < 0) {
    error = pthread_mutex_lock(mutex);
  } else {
    const timespec deadline = ToTimespec(DeadlineAfterMs(timeout_ms));
    error = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &deadline);
  }
  if (error == 0) return MakeString(env, "locked");
  if (error == ETIMEDOUT) return MakeString(env, "timed-out");
  if (error == EOWNERDEAD) {
    pthread_mutex_consistent(mutex);
    return MakeString(env, "recovered");
  }
  ThrowErrno(env, error, "pthread_mutex_lock");
  return nullptr;
}

// mutexUnlock(int32Array, index). Only the thread that locked it may unlock it (EPERM).
napi_value MutexUnlock(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!GetArgs(env, info, 2, args)) return nullptr;
  pthread_mutex_t* mutex = nullptr;
  if (!GetMutex(env, args[0], args[1], &mutex)) return nullptr;
  const int error = pthread_mutex_unlock(mutex);
  if (error != 0) ThrowErrno(env, error, "pthread_mutex_unlock");
  return nullptr;
}

napi_value MutexWords(napi_env env, napi_callback_info /*info*/) {
  napi_value result;
  napi_create_uint32(env, static_cast<uint32_t>(kMutexWords), &result);
  return result;
}

}  // namespace keel
