#include "timer_thread.h"

#include <thread>
#include <vector>

namespace msec {
namespace internal {

TimerThread& TimerThread::Get() {
  // Leaked on purpose: tasks may still be scheduled during static destruction.
  static TimerThread* timers = [] {
    auto* t = new TimerThread;
    std::thread([t] { t->Run(); }).detach();
    return t;
  }();
  return *timers;
}

TimerThread::Key TimerThread::Schedule(Clock::time_point at, std::function<void()> task) {
  bool earliest;
  Key key;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    key = Key{at, ++serial_};
    const auto inserted = tasks_.emplace(key, std::move(task)).first;
    earliest = inserted == tasks_.begin();
  }
  // The thread sleeps until the first task's time: wake it only when that changed.
  if (earliest) wake_.notify_one();
  return key;
}

void TimerThread::Cancel(const Key& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  tasks_.erase(key);
}

void TimerThread::Run() {
  std::vector<std::function<void()>> due;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (tasks_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const Clock::time_point first = tasks_.begin()->first.first;
    if (Clock::now() < first) {
      wake_.wait_until(lock, first);
      continue;
    }
    const Clock::time_point now = Clock::now();
    while (!tasks_.empty() && tasks_.begin()->first.first <= now) {
      due.push_back(std::move(tasks_.begin()->second));
      tasks_.erase(tasks_.begin());
    }
    // Tasks run without the lock: they may schedule or cancel others.
    lock.unlock();
    for (auto& task : due) task();
    due.clear();
    lock.lock();
  }
}

}  // namespace internal
}  // namespace msec
