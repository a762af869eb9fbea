// Asynchronous waits without a thread per wait. Each JavaScript environment (the main thread,
// each worker) gets at most one waiter thread per 127 pending waits, started on first use. It
// sleeps in futex_waitv on every pending word at once, plus a private control word that the
// JavaScript thread bumps when it adds a wait. When a word changes, is woken or times out, the
// thread settles that wait's promise through a thread-safe function, on the waiting thread's
// own event loop. libuv's thread pool is never used, so many pending waits cost it nothing.
//
// A wait settles 'ok' when its word was woken, or holds another value than `expected` (callers
// re-check the word, as with Atomics.waitAsync), and 'timed-out' at its deadline. A wait made
// with keepAlive keeps its event loop alive until it settles; others do not (like a pending
// Atomics.waitAsync on Node 20).
#include "waiter.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "args.h"
#include "futex.h"
#include "uring-waiter.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

namespace keel {

namespace {

// The kernel's struct futex_waitv (include/uapi/linux/futex.h), spelled out so that the addon
// builds against older kernel headers too.
struct WaitvEntry {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
constexpr uint32_t kWaitvSize32 = 0x02;    // FUTEX2_SIZE_U32
constexpr uint32_t kWaitvPrivate = 128;    // FUTEX2_PRIVATE
constexpr size_t kWaitvMax = 128;          // FUTEX_WAITV_MAX
constexpr size_t kWaitsPerThread = kWaitvMax - 1;  // one entry is the control word
constexpr int64_t kPollNs = 1000000;       // without futex_waitv: look every 1 ms

struct PendingWait {
  uint64_t id;
  int32_t* word;
  int32_t expected;
  int64_t deadline_ns;  // CLOCK_MONOTONIC; -1: none
  napi_deferred deferred;
  napi_ref keep_alive;  // the Int32Array: its memory stays mapped while the wait is pending
  bool holds_loop;      // made with keepAlive
};

struct Settlement {
  napi_deferred deferred;
  napi_ref keep_alive;
  bool holds_loop;
  const char* outcome;
};

struct EnvWaiters;

struct WaiterThread {
  EnvWaiters* owner = nullptr;
  pthread_t thread{};
  // Bumped whenever the set of waits changes; read by the kernel too, so always atomically.
  int32_t control = 0;
  bool stopping = false;
  std::vector<PendingWait> waits;
};

struct EnvWaiters {
  napi_threadsafe_function settle = nullptr;
  std::mutex mutex;
  std::vector<std::unique_ptr<WaiterThread>> threads;
  uint64_t next_id = 1;
  // Pending keepAlive waits; JavaScript thread only. The thread-safe function is ref'd while > 0.
  uint64_t loop_holders = 0;
  // io_uring's futex waits when this kernel has them (uring-waiter.cc); then no waiter thread
  // is started. JavaScript thread only.
  UringWaiter* uring = nullptr;
  bool uring_tried = false;
};

bool ProbeFutexWaitv() {
  // No waiters at all: EINVAL where the call exists, ENOSYS where it does not.
  return syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, CLOCK_MONOTONIC) != 0 && errno != ENOSYS;
}

const bool kHasFutexWaitv = ProbeFutexWaitv();

// On the JavaScript thread: resolves one wait. `env` is null when the environment is going away.
void SettleOnJsThread(napi_env env, napi_value /*callback*/, void* context, void* data) {
  std::unique_ptr<Settlement> settlement(static_cast<Settlement*>(data));
  if (env == nullptr) return;
  auto* owner = static_cast<EnvWaiters*>(context);
  if (settlement->holds_loop && --owner->loop_holders == 0) {
    napi_unref_threadsafe_function(env, owner->settle);
  }
  napi_resolve_deferred(env, settlement->deferred, MakeString(env, settlement->outcome));
  napi_delete_reference(env, settlement->keep_alive);
}

// Under the owner's mutex: hands `wait`'s outcome to its JavaScript thread.
void Post(EnvWaiters* owner, const PendingWait& wait, const char* outcome) {
  auto* settlement = new Settlement{wait.deferred, wait.keep_alive, wait.holds_loop, outcome};
  if (napi_call_threadsafe_function(owner->settle, settlement, napi_tsfn_nonblocking) != napi_ok) {
    delete settlement;  // the environment is closing: its promises die with it
  }
}

// Under the mutex: settles the waits whose word changed or whose deadline passed; returns the
// earliest deadline left (-1: none).
int64_t SettleDue(WaiterThread* self) {
  const int64_t now = MonotonicNowNs();
  int64_t earliest = -1;
  auto& waits = self->waits;
  for (size_t i = 0; i < waits.size();) {
    const PendingWait& wait = waits[i];
    const char* outcome = nullptr;
    if (__atomic_load_n(wait.word, __ATOMIC_SEQ_CST) != wait.expected) {
      outcome = "ok";
    } else if (wait.deadline_ns >= 0 && wait.deadline_ns <= now) {
      outcome = "timed-out";
    }
    if (outcome != nullptr) {
      Post(self->owner, wait, outcome);
      waits[i] = waits.back();
      waits.pop_back();
      continue;
    }
    if (wait.deadline_ns >= 0 && (earliest < 0 || wait.deadline_ns < earliest)) {
      earliest = wait.deadline_ns;
    }
    ++i;
  }
  return earliest;
}

// Under the mutex: settles wait `id` as woken, if it is still pending.
void SettleWoken(WaiterThread* self, uint64_t id) {
  auto& waits = self->waits;
  for (size_t i = 0; i < waits.size(); ++i) {
    if (waits[i].id != id) continue;
    Post(self->owner, waits[i], "ok");
    waits[i] = waits.back();
    waits.pop_back();
    return;
  }
}

void* RunWaiter(void* data) {
  auto* self = static_cast<WaiterThread*>(data);
  std::vector<WaitvEntry> entries;
  std::vector<uint64_t> ids;
  std::unique_lock<std::mutex> lock(self->owner->mutex);
  while (!self->stopping) {
    const int64_t deadline = SettleDue(self);
    entries.clear();
    ids.clear();
    const int32_t control = __atomic_load_n(&self->control, __ATOMIC_SEQ_CST);
    entries.push_back({static_cast<uint32_t>(control), reinterpret_cast<uintptr_t>(&self->control),
                       kWaitvSize32 | kWaitvPrivate, 0});
    for (const PendingWait& wait : self->waits) {
      entries.push_back({static_cast<uint32_t>(wait.expected), reinterpret_cast<uintptr_t>(wait.word),
                         kWaitvSize32, 0});
      ids.push_back(wait.id);
    }
    lock.unlock();
    long woken = -1;
    if (kHasFutexWaitv) {
      timespec absolute = ToTimespec(deadline);
      woken = syscall(SYS_futex_waitv, entries.data(), entries.size(), 0,
                      deadline < 0 ? nullptr : &absolute, CLOCK_MONOTONIC);
    } else {
      const int64_t now = MonotonicNowNs();
      const int64_t left = deadline < 0 ? kPollNs : std::min(kPollNs, deadline - now);
      timespec relative = ToTimespec(left);
      FutexWait(&self->control, control, &relative, false);
    }
    if (kHasFutexWaitv && woken < 0 && errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR) {
      // Not expected (every word is mapped and aligned): never spin on a failing call.
      timespec pause = ToTimespec(kPollNs);
      nanosleep(&pause, nullptr);
    }
    lock.lock();
    if (woken >= 1 && static_cast<size_t>(woken) <= ids.size()) SettleWoken(self, ids[woken - 1]);
  }
  return nullptr;
}

// Under the mutex: a thread with room for one more wait, started if needed; null if the OS
// refuses a thread.
WaiterThread* ThreadWithRoom(EnvWaiters* owner) {
  for (auto& thread : owner->threads) {
    if (thread->waits.size() < kWaitsPerThread) return thread.get();
  }
  auto thread = std::make_unique<WaiterThread>();
  thread->owner = owner;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, 256 * 1024);
  const int error = pthread_create(&thread->thread, &attributes, RunWaiter, thread.get());
  pthread_attr_destroy(&attributes);
  if (error != 0) {
    errno = error;
    return nullptr;
  }
  owner->threads.push_back(std::move(thread));
  return owner->threads.back().get();
}

// Environment teardown: stops and joins every waiter thread, so that none touches memory or a
// thread-safe function of this environment afterwards.
void StopWaiters(void* data) {
  auto* owner = static_cast<EnvWaiters*>(data);
  {
    std::lock_guard<std::mutex> guard(owner->mutex);
    for (auto& thread : owner->threads) {
      thread->stopping = true;
      __atomic_add_fetch(&thread->control, 1, __ATOMIC_SEQ_CST);
      FutexWake(&thread->control, INT_MAX, false);
    }
  }
  for (auto& thread : owner->threads) pthread_join(thread->thread, nullptr);
  owner->threads.clear();
}

void DeleteWaiters(napi_env /*env*/, void* data, void* /*hint*/) {
  delete static_cast<EnvWaiters*>(data);
}

// This environment's waiters, made on first use; null after throwing.
EnvWaiters* WaitersOf(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  if (data != nullptr) return static_cast<EnvWaiters*>(data);
  auto owner = std::make_unique<EnvWaiters>();
  napi_value name = MakeString(env, "keel futex waiter");
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr,
                                      owner.get(), SettleOnJsThread, &owner->settle) != napi_ok) {
    ThrowType(env, "cannot create the futex waiter's thread-safe function");
    return nullptr;
  }
  // A pending wait must not keep the event loop alive (as Atomics.waitAsync does not).
  napi_unref_threadsafe_function(env, owner->settle);
  napi_add_env_cleanup_hook(env, StopWaiters, owner.get());
  napi_set_instance_data(env, owner.get(), DeleteWaiters, nullptr);
  return owner.release();
}

}  // namespace

bool HasFutexWaitv() { return kHasFutexWaitv; }

int SettleWaitsOn(napi_env env, int32_t* word) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  if (data == nullptr) return 0;
  auto* owner = static_cast<EnvWaiters*>(data);
  if (owner->uring != nullptr) return UringSettleWaitsOn(owner->uring, word);
  int settled = 0;
  std::lock_guard<std::mutex> guard(owner->mutex);
  for (auto& thread : owner->threads) {
    auto& waits = thread->waits;
    const int before = settled;
    for (size_t i = 0; i < waits.size();) {
      if (waits[i].word != word) {
        ++i;
        continue;
      }
      Post(owner, waits[i], "ok");
      waits[i] = waits.back();
      waits.pop_back();
      ++settled;
    }
    if (settled != before) {
      // The thread may sleep on the settled word still: it rebuilds its set without it.
      __atomic_add_fetch(&thread->control, 1, __ATOMIC_SEQ_CST);
      FutexWake(&thread->control, 1, false);
    }
  }
  return settled;
}

napi_value WaitAsync(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!GetArgs(env, info, 5, args)) return nullptr;
  int32_t* word = nullptr;
  int32_t expected = 0;
  double timeout_ms = 0;
  if (!GetWaitArgs(env, args, &word, &expected, &timeout_ms)) return nullptr;
  bool holds_loop = false;
  if (napi_get_value_bool(env, args[4], &holds_loop) != napi_ok) {
    ThrowType(env, "keepAlive must be a boolean");
    return nullptr;
  }
  EnvWaiters* owner = WaitersOf(env);
  if (owner == nullptr) return nullptr;
  if (!owner->uring_tried) {
    owner->uring_tried = true;
    owner->uring = CreateUringWaiter(env);
  }
  if (owner->uring != nullptr) {
    napi_value promise = nullptr;
    if (!UringWaitAsync(owner->uring, args[0], word, expected, timeout_ms, holds_loop, &promise)) {
      return nullptr;
    }
    return promise;
  }
  napi_ref keep_alive = nullptr;
  if (napi_create_reference(env, args[0], 1, &keep_alive) != napi_ok) return nullptr;
  napi_deferred deferred = nullptr;
  napi_value promise = nullptr;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    napi_delete_reference(env, keep_alive);
    return nullptr;
  }
  std::lock_guard<std::mutex> guard(owner->mutex);
  WaiterThread* thread = ThreadWithRoom(owner);
  if (thread == nullptr) {
    napi_delete_reference(env, keep_alive);
    napi_value reason = nullptr;
    napi_create_error(env, MakeString(env, "EAGAIN"),
                      MakeString(env, "pthread_create: cannot start a futex waiter thread"), &reason);
    napi_reject_deferred(env, deferred, reason);
    return promise;
  }
  const int64_t deadline = timeout_ms < 0 ? -1 : DeadlineAfterMs(timeout_ms);
  thread->waits.push_back({owner->next_id++, word, expected, deadline,
                           deferred, keep_alive, holds_loop});
  if (holds_loop && owner->loop_holders++ == 0) napi_ref_threadsafe_function(env, owner->settle);
  __atomic_add_fetch(&thread->control, 1, __ATOMIC_SEQ_CST);
  FutexWake(&thread->control, 1, false);
  return promise;
}

}  // namespace keel
