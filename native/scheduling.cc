// Thread scheduling: a scheduling class and a CPU affinity for the CALLING thread only (keel
// applies them in each worker's own boot, before user code runs), and a read-back of what the
// OS applied to any thread. Linux semantics: sched_setscheduler and setpriority with pid 0 (or a
// thread id) act on one thread, not on the whole process.
#include "scheduling.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "args.h"

namespace keel {

namespace {

// The highest CPU index a cpu_set_t holds; keel never asks for more.
constexpr int64_t kMaxCpu = CPU_SETSIZE - 1;

pid_t CurrentThreadId() { return static_cast<pid_t>(syscall(SYS_gettid)); }

const char* PolicyName(int policy) {
  switch (policy) {
    case SCHED_OTHER: return "other";
    case SCHED_FIFO: return "fifo";
    case SCHED_RR: return "rr";
    case SCHED_BATCH: return "batch";
    case SCHED_IDLE: return "idle";
#ifdef SCHED_DEADLINE
    case SCHED_DEADLINE: return "deadline";
#endif
    default: return "unknown";
  }
}

// The nice value of `thread`; getpriority returns -1 both for nice -1 and for an error, so errno
// tells them apart.
bool NiceOf(pid_t thread, int* nice) {
  errno = 0;
  const int value = getpriority(PRIO_PROCESS, static_cast<id_t>(thread));
  if (value == -1 && errno != 0) return false;
  *nice = value;
  return true;
}

// Raises or lowers the calling thread's nice value (lowering needs CAP_SYS_NICE or RLIMIT_NICE).
bool SetNice(napi_env env, int nice) {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(CurrentThreadId()), nice) == 0) return true;
  ThrowErrno(env, errno, "setpriority");
  return false;
}

bool SetPolicy(int policy, int rt_priority) {
  sched_param param{};
  param.sched_priority = rt_priority;
  return sched_setscheduler(0, policy, &param) == 0;
}

void SetNamedInt(napi_env env, napi_value object, const char* name, int64_t number) {
  napi_value value;
  napi_create_int64(env, number, &value);
  napi_set_named_property(env, object, name, value);
}

}  // namespace

// setThreadScheduling(policy, rtPriority, nice) -> 'applied' | 'nice'.
// - 'fifo': SCHED_FIFO at rtPriority (1..99), with SCHED_RESET_ON_FORK so that threads this one
//   starts later (libuv's pool, a nested worker) do not inherit the realtime class.
// - 'other': SCHED_OTHER at `nice` (-20..19). The nice value is set first: leaving SCHED_IDLE
//   is checked against the thread's current nice.
// - 'idle': SCHED_IDLE; where that is refused (EPERM), nice 19 instead, and 'nice' says so.
// rtPriority must be 0 unless the policy is 'fifo'; `nice` is only used by 'other'.
napi_value SetThreadScheduling(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!GetArgs(env, info, 3, args)) return nullptr;
  std::string policy;
  if (!GetString(env, args[0], 8, &policy)) return nullptr;
  int64_t rt_priority = 0;
  int64_t nice = 0;
  if (!GetInteger(env, args[1], 0, 99, &rt_priority)) return nullptr;
  if (!GetInteger(env, args[2], -20, 19, &nice)) return nullptr;
  if (policy == "fifo") {
    if (rt_priority < 1) {
      ThrowRange(env, "rtPriority must be 1..99 for 'fifo'");
      return nullptr;
    }
    if (!SetPolicy(SCHED_FIFO | SCHED_RESET_ON_FORK, static_cast<int>(rt_priority))) {
      ThrowErrno(env, errno, "sched_setscheduler");
      return nullptr;
    }
    return MakeString(env, "applied");
  }
  if (policy != "other" && policy != "idle") {
    ThrowRange(env, "policy must be 'fifo', 'other' or 'idle'");
    return nullptr;
  }
  if (rt_priority != 0) {
    ThrowRange(env, "rtPriority must be 0 unless the policy is 'fifo'");
    return nullptr;
  }
  if (policy == "other") {
    if (!SetNice(env, static_cast<int>(nice))) return nullptr;
    if (!SetPolicy(SCHED_OTHER, 0)) {
      ThrowErrno(env, errno, "sched_setscheduler");
      return nullptr;
    }
    return MakeString(env, "applied");
  }
  if (SetPolicy(SCHED_IDLE, 0)) return MakeString(env, "applied");
  const int error = errno;
  if (error != EPERM) {
    ThrowErrno(env, error, "sched_setscheduler");
    return nullptr;
  }
  if (!SetNice(env, 19)) return nullptr;
  return MakeString(env, "nice");
}

// setThreadAffinity(cpus): an array of 1 to CPU_SETSIZE CPU indices (0..CPU_SETSIZE-1). EINVAL
// when none of them is a CPU this thread may use (offline, or outside its cpuset).
napi_value SetThreadAffinity(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!GetArgs(env, info, 1, args)) return nullptr;
  bool is_array = false;
  if (napi_is_array(env, args[0], &is_array) != napi_ok || !is_array) {
    ThrowType(env, "expected an array of CPU indices");
    return nullptr;
  }
  uint32_t length = 0;
  if (napi_get_array_length(env, args[0], &length) != napi_ok) return nullptr;
  if (length == 0 || length > CPU_SETSIZE) {
    ThrowRange(env, "expected 1 to CPU_SETSIZE CPU indices");
    return nullptr;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t at = 0; at < length; at++) {
    napi_value element;
    if (napi_get_element(env, args[0], at, &element) != napi_ok) return nullptr;
    int64_t cpu = 0;
    if (!GetInteger(env, element, 0, static_cast<double>(kMaxCpu), &cpu)) return nullptr;
    CPU_SET(static_cast<size_t>(cpu), &set);
  }
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    ThrowErrno(env, errno, "sched_setaffinity");
    return nullptr;
  }
  return nullptr;
}

// threadScheduling(tid) -> { tid, policy, rtPriority, nice, resetOnFork, cpus }: what the OS
// applies to thread `tid` now (0: the calling thread). ESRCH when there is no such thread.
napi_value ThreadScheduling(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!GetArgs(env, info, 1, args)) return nullptr;
  int64_t requested = 0;
  if (!GetInteger(env, args[0], 0, 2147483647.0, &requested)) return nullptr;
  const pid_t thread = requested == 0 ? CurrentThreadId() : static_cast<pid_t>(requested);
  const int policy = sched_getscheduler(thread);
  if (policy < 0) {
    ThrowErrno(env, errno, "sched_getscheduler");
    return nullptr;
  }
  sched_param param{};
  if (sched_getparam(thread, &param) != 0) {
    ThrowErrno(env, errno, "sched_getparam");
    return nullptr;
  }
  int nice = 0;
  if (!NiceOf(thread, &nice)) {
    ThrowErrno(env, errno, "getpriority");
    return nullptr;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(thread, sizeof(set), &set) != 0) {
    ThrowErrno(env, errno, "sched_getaffinity");
    return nullptr;
  }
  napi_value result, cpus, reset;
  napi_create_object(env, &result);
  napi_create_array(env, &cpus);
  uint32_t count = 0;
  for (int cpu = 0; cpu <= kMaxCpu; cpu++) {
    if (!CPU_ISSET(cpu, &set)) continue;
    napi_value index;
    napi_create_int32(env, cpu, &index);
    napi_set_element(env, cpus, count++, index);
  }
  SetNamedInt(env, result, "tid", thread);
  const char* name = PolicyName(policy & ~SCHED_RESET_ON_FORK);
  napi_set_named_property(env, result, "policy", MakeString(env, name));
  SetNamedInt(env, result, "rtPriority", param.sched_priority);
  SetNamedInt(env, result, "nice", nice);
  napi_get_boolean(env, (policy & SCHED_RESET_ON_FORK) != 0, &reset);
  napi_set_named_property(env, result, "resetOnFork", reset);
  napi_set_named_property(env, result, "cpus", cpus);
  return result;
}

}  // namespace keel
