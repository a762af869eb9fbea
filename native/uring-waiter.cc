// Asynchronous futex waits through io_uring (Linux >= 6.7): the JavaScript thread submits an
// IORING_OP_FUTEX_WAIT and goes on; the kernel completes it when the word is woken, in any
// process; the completion signals an eventfd that the thread's own libuv loop polls. A wake-up
// therefore reaches the waiting event loop directly, and adding a wait wakes no thread: half the
// thread hand-offs of the waiter-thread design (waiter.cc), which remains the fallback where
// io_uring is missing, disabled (kernel.io_uring_disabled) or filtered (container seccomp).
//
// Everything here runs on the JavaScript thread of one environment; no locks.
#include "uring-waiter.h"

#include <linux/io_uring.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "args.h"

namespace keel {

namespace {

// Added in Linux 6.7; spelled out so that the addon builds against older kernel headers.
constexpr uint8_t kOpFutexWait = 51;  // IORING_OP_FUTEX_WAIT
constexpr uint32_t kFutex2Size32 = 0x02;  // FUTEX2_SIZE_U32, without FUTEX2_PRIVATE: shared
constexpr uint64_t kMatchAnyBit = 0xffffffffULL;  // FUTEX_BITSET_MATCH_ANY
// user_data of a wait's linked timeout: the wait's id with the top bit set; of a cancel of the
// wait: its id with the next bit set. Neither completion settles anything.
constexpr uint64_t kTimeoutTag = 1ULL << 63;
constexpr uint64_t kCancelTag = 1ULL << 62;
constexpr unsigned kRingEntries = 128;
// Completions can outnumber the ring (many waits woken at once): the kernel then keeps them
// (IORING_FEAT_NODROP) until flushed, which OnCompletions does.
constexpr unsigned kCompletionEntries = 4096;

struct PendingWait {
  int32_t* word;
  napi_deferred deferred;
  napi_ref keep_alive;  // the Int32Array: its memory stays mapped while the wait is pending
  bool holds_loop;
  // A linked timeout's duration: the kernel reads it when the submission is entered.
  __kernel_timespec timeout;
};

}  // namespace

struct UringWaiter {
  napi_env env = nullptr;
  int ring_fd = -1;
  int event_fd = -1;
  void* sq_ring = MAP_FAILED;
  size_t sq_ring_bytes = 0;
  void* cq_ring = MAP_FAILED;
  size_t cq_ring_bytes = 0;
  io_uring_sqe* sqes = static_cast<io_uring_sqe*>(MAP_FAILED);
  size_t sqes_bytes = 0;
  unsigned* sq_head = nullptr;
  unsigned* sq_tail = nullptr;
  unsigned sq_mask = 0;
  unsigned* sq_array = nullptr;
  unsigned* sq_flags = nullptr;
  unsigned* cq_head = nullptr;
  unsigned* cq_tail = nullptr;
  unsigned cq_mask = 0;
  io_uring_cqe* cqes = nullptr;
  uv_poll_t* poll = nullptr;  // owned by libuv until its close callback
  napi_async_context async_context = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  std::unordered_map<uint64_t, PendingWait> pending;
  uint64_t next_id = 1;
  uint64_t loop_holders = 0;
};

namespace {

long Enter(int fd, unsigned to_submit, unsigned flags = 0) {
  return syscall(__NR_io_uring_enter, fd, to_submit, 0, flags, nullptr, 0);
}

// Releases the kernel objects; the poll handle is closed separately (asynchronously).
void Unmap(UringWaiter* waiter) {
  if (waiter->sqes != MAP_FAILED) munmap(waiter->sqes, waiter->sqes_bytes);
  if (waiter->cq_ring != MAP_FAILED && waiter->cq_ring != waiter->sq_ring) {
    munmap(waiter->cq_ring, waiter->cq_ring_bytes);
  }
  if (waiter->sq_ring != MAP_FAILED) munmap(waiter->sq_ring, waiter->sq_ring_bytes);
  if (waiter->ring_fd >= 0) close(waiter->ring_fd);
  if (waiter->event_fd >= 0) close(waiter->event_fd);
  waiter->sqes = static_cast<io_uring_sqe*>(MAP_FAILED);
  waiter->sq_ring = waiter->cq_ring = MAP_FAILED;
  waiter->ring_fd = waiter->event_fd = -1;
}

// Whether this kernel's io_uring knows IORING_OP_FUTEX_WAIT.
bool SupportsFutexWait(int ring_fd) {
  constexpr unsigned kOps = 256;
  const size_t bytes = sizeof(io_uring_probe) + kOps * sizeof(io_uring_probe_op);
  auto* probe = static_cast<io_uring_probe*>(calloc(1, bytes));
  if (probe == nullptr) return false;
  const bool known = syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_PROBE, probe, kOps) == 0 &&
                     probe->last_op >= kOpFutexWait &&
                     (probe->ops[kOpFutexWait].flags & IO_URING_OP_SUPPORTED) != 0;
  free(probe);
  return known;
}

// Sets up the ring and its eventfd; false (everything released) when io_uring is unavailable.
bool SetUpRing(UringWaiter* waiter) {
  io_uring_params params;
  std::memset(&params, 0, sizeof(params));
  params.flags = IORING_SETUP_CQSIZE;
  params.cq_entries = kCompletionEntries;
  waiter->ring_fd = static_cast<int>(syscall(__NR_io_uring_setup, kRingEntries, &params));
  if (waiter->ring_fd < 0) return false;
  if ((params.features & IORING_FEAT_NODROP) == 0 || !SupportsFutexWait(waiter->ring_fd)) {
    Unmap(waiter);
    return false;
  }
  waiter->sq_ring_bytes = params.sq_off.array + params.sq_entries * sizeof(unsigned);
  waiter->cq_ring_bytes = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
  const bool single = (params.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    waiter->sq_ring_bytes = waiter->cq_ring_bytes =
        std::max(waiter->sq_ring_bytes, waiter->cq_ring_bytes);
  }
  waiter->sq_ring = mmap(nullptr, waiter->sq_ring_bytes, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, waiter->ring_fd, IORING_OFF_SQ_RING);
  if (waiter->sq_ring == MAP_FAILED) {
    Unmap(waiter);
    return false;
  }
  waiter->cq_ring = single ? waiter->sq_ring
                           : mmap(nullptr, waiter->cq_ring_bytes, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_POPULATE, waiter->ring_fd, IORING_OFF_CQ_RING);
  waiter->sqes_bytes = params.sq_entries * sizeof(io_uring_sqe);
  waiter->sqes = static_cast<io_uring_sqe*>(mmap(nullptr, waiter->sqes_bytes,
                                                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                                                 waiter->ring_fd, IORING_OFF_SQES));
  if (waiter->cq_ring == MAP_FAILED || waiter->sqes == MAP_FAILED) {
    Unmap(waiter);
    return false;
  }
  auto* sq = static_cast<char*>(waiter->sq_ring);
  auto* cq = static_cast<char*>(waiter->cq_ring);
  waiter->sq_head = reinterpret_cast<unsigned*>(sq + params.sq_off.head);
  waiter->sq_tail = reinterpret_cast<unsigned*>(sq + params.sq_off.tail);
  waiter->sq_mask = *reinterpret_cast<unsigned*>(sq + params.sq_off.ring_mask);
  waiter->sq_array = reinterpret_cast<unsigned*>(sq + params.sq_off.array);
  waiter->sq_flags = reinterpret_cast<unsigned*>(sq + params.sq_off.flags);
  waiter->cq_head = reinterpret_cast<unsigned*>(cq + params.cq_off.head);
  waiter->cq_tail = reinterpret_cast<unsigned*>(cq + params.cq_off.tail);
  waiter->cq_mask = *reinterpret_cast<unsigned*>(cq + params.cq_off.ring_mask);
  waiter->cqes = reinterpret_cast<io_uring_cqe*>(cq + params.cq_off.cqes);
  waiter->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (waiter->event_fd < 0 ||
      syscall(__NR_io_uring_register, waiter->ring_fd, IORING_REGISTER_EVENTFD,
              &waiter->event_fd, 1) != 0) {
    Unmap(waiter);
    return false;
  }
  return true;
}

// The next free submission entry, zeroed; null when the queue is full (it never stays full:
// every submission is entered at once).
io_uring_sqe* NextSqe(UringWaiter* waiter) {
  const unsigned tail = *waiter->sq_tail;
  const unsigned head = __atomic_load_n(waiter->sq_head, __ATOMIC_ACQUIRE);
  if (tail - head > waiter->sq_mask) return nullptr;
  const unsigned index = tail & waiter->sq_mask;
  io_uring_sqe* sqe = &waiter->sqes[index];
  std::memset(sqe, 0, sizeof(*sqe));
  waiter->sq_array[index] = index;
  __atomic_store_n(waiter->sq_tail, tail + 1, __ATOMIC_RELEASE);
  return sqe;
}

void HoldLoop(UringWaiter* waiter, bool hold) {
  if (hold) {
    if (waiter->loop_holders++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(waiter->poll));
  } else if (--waiter->loop_holders == 0) {
    uv_unref(reinterpret_cast<uv_handle_t*>(waiter->poll));
  }
}

// Settles wait `id` (if still pending) with `outcome`. In a handle scope on the JS thread.
void Settle(UringWaiter* waiter, uint64_t id, const char* outcome) {
  auto found = waiter->pending.find(id);
  if (found == waiter->pending.end()) return;
  const PendingWait wait = found->second;
  waiter->pending.erase(found);
  if (wait.holds_loop) HoldLoop(waiter, false);
  napi_resolve_deferred(waiter->env, wait.deferred, MakeString(waiter->env, outcome));
  napi_delete_reference(waiter->env, wait.keep_alive);
}

// The eventfd is readable: some waits completed. Settles each, then lets microtasks run (the
// callback scope's close), so that awaiting code continues within this loop turn.
void OnCompletions(uv_poll_t* handle, int /*status*/, int /*events*/) {
  auto* waiter = static_cast<UringWaiter*>(handle->data);
  uint64_t count = 0;
  while (read(waiter->event_fd, &count, sizeof(count)) > 0) {
  }
  napi_env env = waiter->env;
  napi_handle_scope handles;
  if (napi_open_handle_scope(env, &handles) != napi_ok) return;
  napi_value resource;
  napi_callback_scope scope = nullptr;
  napi_create_object(env, &resource);
  napi_open_callback_scope(env, resource, waiter->async_context, &scope);
  for (;;) {
    unsigned head = *waiter->cq_head;
    const unsigned tail = __atomic_load_n(waiter->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; ++head) {
      const io_uring_cqe& cqe = waiter->cqes[head & waiter->cq_mask];
      if ((cqe.user_data & (kTimeoutTag | kCancelTag)) != 0) continue;  // not a wait's own
      // -ECANCELED: its linked timeout fired. 0: woken. -EAGAIN: the word had changed already.
      Settle(waiter, cqe.user_data, cqe.res == -ECANCELED ? "timed-out" : "ok");
    }
    __atomic_store_n(waiter->cq_head, head, __ATOMIC_RELEASE);
    // Completions the ring had no room for wait in the kernel until an enter flushes them.
    if ((__atomic_load_n(waiter->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW) == 0) break;
    Enter(waiter->ring_fd, 0, IORING_ENTER_GETEVENTS);
  }
  if (scope != nullptr) napi_close_callback_scope(env, scope);
  napi_close_handle_scope(env, handles);
}

void FreePoll(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

// Environment teardown (asynchronous: the poll handle closes on a loop turn). Pending waits are
// cancelled with the ring; their promises die with the environment.
void TearDown(napi_async_cleanup_hook_handle hook, void* data) {
  auto* waiter = static_cast<UringWaiter*>(data);
  Unmap(waiter);
  if (waiter->async_context != nullptr) napi_async_destroy(waiter->env, waiter->async_context);
  uv_poll_stop(waiter->poll);
  struct Closing {
    napi_async_cleanup_hook_handle hook;
    UringWaiter* waiter;
  };
  waiter->poll->data = new Closing{hook, waiter};
  uv_close(reinterpret_cast<uv_handle_t*>(waiter->poll), [](uv_handle_t* handle) {
    auto* closing = static_cast<Closing*>(handle->data);
    napi_remove_async_cleanup_hook(closing->hook);
    delete closing->waiter;
    delete closing;
    FreePoll(handle);
  });
}

}  // namespace

bool UringSupported() {
  static const bool supported = [] {
    UringWaiter probe;
    const bool ok = SetUpRing(&probe);
    Unmap(&probe);
    return ok;
  }();
  return supported && getenv("KEEL_NATIVE_NO_URING") == nullptr;
}

UringWaiter* CreateUringWaiter(napi_env env) {
  if (!UringSupported()) return nullptr;
  auto* waiter = new UringWaiter();
  waiter->env = env;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !SetUpRing(waiter)) {
    delete waiter;
    return nullptr;
  }
  napi_value name = MakeString(env, "keel futex wait");
  waiter->poll = new uv_poll_t();
  if (napi_async_init(env, nullptr, name, &waiter->async_context) != napi_ok ||
      uv_poll_init(loop, waiter->poll, waiter->event_fd) != 0) {
    Unmap(waiter);
    if (waiter->async_context != nullptr) napi_async_destroy(env, waiter->async_context);
    delete waiter->poll;
    delete waiter;
    return nullptr;
  }
  waiter->poll->data = waiter;
  uv_poll_start(waiter->poll, UV_READABLE, OnCompletions);
  // A pending wait does not keep the event loop alive unless asked to (HoldLoop).
  uv_unref(reinterpret_cast<uv_handle_t*>(waiter->poll));
  napi_add_async_cleanup_hook(env, TearDown, waiter, &waiter->cleanup);
  return waiter;
}

bool UringWaitAsync(UringWaiter* waiter, napi_value array, int32_t* word, int32_t expected,
                    double timeout_ms, bool keep_alive, napi_value* promise) {
  napi_env env = waiter->env;
  const bool timed = timeout_ms >= 0;
  napi_ref ref = nullptr;
  napi_deferred deferred = nullptr;
  if (napi_create_reference(env, array, 1, &ref) != napi_ok) return false;
  if (napi_create_promise(env, &deferred, promise) != napi_ok) {
    napi_delete_reference(env, ref);
    return false;
  }
  const uint64_t id = waiter->next_id++;
  // Node-based: the entry (and its timespec) stays where it is until erased.
  PendingWait& pending =
      waiter->pending.emplace(id, PendingWait{word, deferred, ref, keep_alive, {}}).first->second;
  if (keep_alive) HoldLoop(waiter, true);
  const unsigned old_tail = *waiter->sq_tail;
  io_uring_sqe* wait = NextSqe(waiter);
  io_uring_sqe* limit = wait != nullptr && timed ? NextSqe(waiter) : nullptr;
  if (wait == nullptr || (timed && limit == nullptr)) {
    __atomic_store_n(waiter->sq_tail, old_tail, __ATOMIC_RELEASE);
    Settle(waiter, id, "ok");  // callers re-check their word; the queue is never full for long
    return true;
  }
  wait->opcode = kOpFutexWait;
  wait->fd = static_cast<int32_t>(kFutex2Size32);
  wait->addr = reinterpret_cast<uint64_t>(word);
  wait->addr2 = static_cast<uint32_t>(expected);
  wait->addr3 = kMatchAnyBit;
  wait->user_data = id;
  if (timed) {
    wait->flags = IOSQE_IO_LINK;
    const int64_t ns = static_cast<int64_t>(std::min(timeout_ms * 1e6, 9.2e18));
    pending.timeout.tv_sec = ns / 1000000000LL;
    pending.timeout.tv_nsec = ns % 1000000000LL;
    limit->opcode = IORING_OP_LINK_TIMEOUT;
    limit->addr = reinterpret_cast<uint64_t>(&pending.timeout);
    limit->len = 1;
    limit->user_data = id | kTimeoutTag;
  }
  const unsigned submissions = timed ? 2 : 1;
  long entered;
  do {
    entered = Enter(waiter->ring_fd, submissions);
  } while (entered < 0 && errno == EINTR);
  if (entered <= 0 && __atomic_load_n(waiter->sq_head, __ATOMIC_ACQUIRE) == old_tail) {
    // Not expected once the ring works (the kernel took nothing): take the entries back and
    // settle the wait now, 'ok', since callers re-check their word.
    __atomic_store_n(waiter->sq_tail, old_tail, __ATOMIC_RELEASE);
    Settle(waiter, id, "ok");
  }
  return true;
}

int UringSettleWaitsOn(UringWaiter* waiter, int32_t* word) {
  std::vector<uint64_t> ids;
  for (const auto& [id, wait] : waiter->pending) {
    if (wait.word == word) ids.push_back(id);
  }
  for (const uint64_t id : ids) {
    // Withdraw the kernel's wait first: left queued, it would take a count of a later wake
    // meant for another waiter. Cancelling a futex wait completes inline, within the enter.
    // The submission queue is empty between calls (every submission is entered at once), so
    // NextSqe has room; were it full, the wait is settled anyway and only its withdrawal lost.
    io_uring_sqe* cancel = NextSqe(waiter);
    if (cancel != nullptr) {
      cancel->opcode = IORING_OP_ASYNC_CANCEL;
      cancel->addr = id;
      cancel->user_data = id | kCancelTag;
      long entered;
      do {
        entered = Enter(waiter->ring_fd, 1);
      } while (entered < 0 && errno == EINTR);
    }
    Settle(waiter, id, "ok");
  }
  return static_cast<int>(ids.size());
}

}  // namespace keel
