// The runtime's timer thread (internal): runs tasks at given points in time.
// Asynchronous calls use it for their deadlines (-10 / -12 when no reply came
// in time) and for completions that must not run on the thread that issued
// the call (failures found before a request is sent).
#ifndef MSEC_SRC_TIMER_THREAD_H_
#define MSEC_SRC_TIMER_THREAD_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

namespace msec {
namespace internal {

/** One process-wide thread running scheduled tasks in time order; never destroyed. */
class TimerThread {
 public:
  using Clock = std::chrono::steady_clock;
  /** Identifies a scheduled task: its time, then a tie-breaking serial number. */
  using Key = std::pair<Clock::time_point, std::uint64_t>;

  /** The process's timer thread, started on first use. */
  static TimerThread& Get();

  /** Runs `task` on the timer thread at `at` (at once when `at` has passed) unless cancelled first. */
  Key Schedule(Clock::time_point at, std::function<void()> task);

  /** Runs `task` on the timer thread as soon as it can. */
  void Post(std::function<void()> task) { Schedule(Clock::now(), std::move(task)); }

  /** Drops a task that has not started; a no-op when it ran (or runs now) already. */
  void Cancel(const Key& key);

 private:
  TimerThread() = default;
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<Key, std::function<void()>> tasks_;
  std::uint64_t serial_ = 0;
};

}  // namespace internal
}  // namespace msec

#endif  // MSEC_SRC_TIMER_THREAD_H_
