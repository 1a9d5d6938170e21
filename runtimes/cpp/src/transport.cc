#include "msec/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "msec/frame.h"
#include "socket_address.h"
#include "timer_thread.h"

namespace msec {
namespace {

using Clock = std::chrono::steady_clock;

/** Bytes read from a socket per recv() call. */
constexpr std::size_t kReadChunkBytes = 64 * 1024;
/** `CRpcHead.sequence` (field 10, varint) tag byte; encoders write it first. */
constexpr std::uint8_t kSequenceTag = 0x50;

/** Milliseconds left until `deadline`, at least 0. */
int RemainingMs(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

/** The remaining budget written as timeout_ms: rounded up, at least 1. */
std::uint32_t BudgetMs(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
  if (left <= 1000) return 1;
  return static_cast<std::uint32_t>(std::min<std::int64_t>((left + 999) / 1000, 0xffffffffLL));
}

std::string ErrnoText(int err) { return std::strerror(err); }

/** The sequence at the start of a frame's head (tag 0x50 + varint), or 0 when not readable yet. */
std::uint64_t PeekSequence(const std::uint8_t* bytes, std::size_t size) {
  if (size <= kFrameHeadOffset + 1 || bytes[kFrameHeadOffset] != kSequenceTag) return 0;
  std::uint64_t value = 0;
  int shift = 0;
  for (std::size_t i = kFrameHeadOffset + 1; i < size && i < kFrameHeadOffset + 11; ++i) {
    const std::uint8_t b = static_cast<std::uint8_t>(bytes[i]);
    value |= std::uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) return value;
    shift += 7;
  }
  return 0;
}

/** Decoded reply or failure handed to a call. */
struct Reply {
  Status status;
  /** False when the call's request was never (completely) handed to the socket. */
  bool sent = true;
  srpc::CRpcHead head;
  std::string body;
};

/** A call waiting for its reply: how to complete it, and the timer task of its deadline. */
struct Pending {
  ExchangeCallback done;
  internal::TimerThread::Key timer;
};

/** A call issued while its connection was connecting: encoded and written once it is open. */
struct Queued {
  std::uint64_t sequence;
  srpc::CRpcHead head;
  std::string body;
  Deadline deadline;
  int timeout_ms;
};

/** Runs `done` with a failure on the timer thread (never on the thread issuing the call). */
void CompleteLater(ExchangeCallback done, Status status) {
  internal::TimerThread::Get().Post(
      [done = std::move(done), status = std::move(status)]() mutable { done(std::move(status), srpc::CRpcHead(), std::string()); });
}

class Connection;
/** The connection whose reader thread is handing replies to their calls on this thread (null: none). */
thread_local const Connection* dispatching = nullptr;

/**
 * One persistent TCP connection carrying many calls, read by its own thread.
 * A call registers in pending_ with a timer task for its deadline; whichever
 * of the reply, the timer or the connection's end takes it out of pending_
 * first completes it, exactly once.
 */
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Route route, std::string address) : route_(std::move(route)), address_(std::move(address)) {}

  /** Starts the reader thread, which connects first (within `connect_deadline`). */
  void Open(Deadline connect_deadline) {
    std::thread([self = shared_from_this(), connect_deadline] { self->Run(connect_deadline); }).detach();
  }

  bool Closed() const { return closed_.load(std::memory_order_acquire); }

  /** Shuts the socket down: the reader fails every call in flight with -13 and exits. */
  void Shutdown() {
    WriteTurn turn(this);
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    std::lock_guard<std::mutex> state_lock(mutex_);
    shutdown_requested_ = true;
    // New calls take a new connection at once; the reader fails the calls in flight.
    if (state_ == State::kOpen) SetClosed();
  }

  ConnectionInfo Info() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ConnectionInfo{address_, local_address_, pending_.size()};
  }

  /**
   * Issues one call; `done` completes it later (see ExchangeAsync). Returns
   * false, leaving `done` untouched and sending nothing, when the connection
   * had already closed after being open: the caller takes a new one.
   */
  bool Send(srpc::CRpcHead& head, const std::string& body, Deadline deadline, int timeout_ms, ExchangeCallback& done) {
    const std::uint64_t sequence = head.sequence();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (state_ == State::kClosed) {
        if (was_open_) return false;
        CompleteLater(std::move(done), Status(close_reason_).SetCall(address_, false));
        return true;
      }
      // Scheduled under mutex_ so that the timer cannot fire before the call is in pending_.
      Pending& pending = pending_[sequence];
      pending.done = std::move(done);
      pending.timer = internal::TimerThread::Get().Schedule(
          deadline, [self = shared_from_this(), sequence, timeout_ms] { self->Expire(sequence, timeout_ms); });
      if (state_ == State::kConnecting) {
        connecting_.push_back(Queued{sequence, std::move(head), body, deadline, timeout_ms});
        return true;
      }
    }
    // From a completion on this connection's reader thread, the frame only queues: the reader
    // writes everything its completions queued at once, after the batch of replies.
    Enqueue(sequence, head, body, deadline, timeout_ms, dispatching != this);
    return true;
  }

 private:
  enum class State { kConnecting, kOpen, kClosed };

  /** state_ = kClosed, mirrored in closed_ for Closed(); mutex_ held. */
  void SetClosed() {
    state_ = State::kClosed;
    closed_.store(true, std::memory_order_release);
  }

  /** Holds the connection's write turn for its lifetime (see turn_mutex_). */
  class WriteTurn {
   public:
    /** Waits for the turn until `deadline` (default: as long as it takes); check held(). */
    explicit WriteTurn(Connection* c, Deadline deadline = Deadline::max()) : c_(c) {
      std::unique_lock<std::mutex> lock(c_->turn_mutex_);
      const auto free = [this] { return !c_->turn_taken_; };
      if (deadline == Deadline::max()) {
        c_->turn_free_.wait(lock, free);
        held_ = true;
      } else {
        held_ = c_->turn_free_.wait_until(lock, deadline, free);
      }
      if (held_) c_->turn_taken_ = true;
    }
    ~WriteTurn() {
      if (!held_) return;
      {
        std::lock_guard<std::mutex> lock(c_->turn_mutex_);
        c_->turn_taken_ = false;
      }
      c_->turn_free_.notify_one();
    }
    WriteTurn(const WriteTurn&) = delete;
    WriteTurn& operator=(const WriteTurn&) = delete;
    bool held() const { return held_; }

   private:
    Connection* c_;
    bool held_ = false;
  };

  /** Completes a call taken out of pending_ (its timer is cancelled). */
  void Complete(Pending& pending, Reply reply) {
    internal::TimerThread::Get().Cancel(pending.timer);
    reply.status.SetCall(address_, reply.sent);
    pending.done(std::move(reply.status), std::move(reply.head), std::move(reply.body));
  }

  /**
   * The timer task of a call's deadline (timer thread): when the call still
   * waits, it fails with -10, or -12 when part of its reply had arrived; a
   * timed-out call's sequence is remembered so its late reply is dropped quietly.
   */
  void Expire(std::uint64_t sequence, int timeout_ms) {
    const std::string within = std::to_string(timeout_ms) + " ms";
    Pending pending;
    Reply failed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto found = pending_.find(sequence);
      if (found == pending_.end()) return;
      pending = std::move(found->second);
      pending_.erase(found);
      const auto queued = std::find_if(connecting_.begin(), connecting_.end(), [sequence](const Queued& q) { return q.sequence == sequence; });
      if (queued != connecting_.end()) {
        connecting_.erase(queued);
        failed.status = Status(kTimeout, "cannot connect to " + address_ + " within " + within);
        failed.sent = false;
      } else {
        const bool receiving = partial_bytes_ > 0 && (partial_sequence_ == sequence || (partial_sequence_ == 0 && pending_.empty()));
        const bool idle = pending_.empty();
        abandoned_.push_back(sequence);
        abandoned_set_.insert(sequence);
        if (abandoned_.size() > kAbandonedSequencesKept) {
          abandoned_set_.erase(abandoned_.front());
          abandoned_.pop_front();
        }
        failed.status = receiving ? Status(kRecvTimeout, "reply from " + address_ + " incomplete after " + within)
                                  : Status(kTimeout, "no reply from " + address_ + " within " + within);
        // The stream stopped mid-frame. With no other call waiting, close it rather than let the
        // rest of that frame (or its absence) garble the next call's reply: closed for new calls
        // now (they take a new connection), the socket shut on a thread of its own (Shutdown waits
        // for the write turn, which must not hold up the other timers).
        if (receiving && idle && state_ == State::kOpen) {
          shutdown_requested_ = true;
          SetClosed();
          std::thread([self = shared_from_this()] { self->Shutdown(); }).detach();
        }
      }
    }
    failed.status.SetCall(address_, failed.sent);
    pending.done(std::move(failed.status), srpc::CRpcHead(), std::string());
  }

  /**
   * Encodes a call's frame (head.timeout_ms = the budget left now) and queues
   * it; with `flush`, writes the queue when no other thread is writing it.
   */
  void Enqueue(std::uint64_t sequence, srpc::CRpcHead& head, const std::string& body, Deadline deadline, int timeout_ms, bool flush) {
    head.set_timeout_ms(BudgetMs(deadline));
    std::string frame;
    const int packed = EncodeFrame(head, body, &frame);
    if (packed != kSuccess) {
      Reply failed;
      failed.status = Status(packed, "");
      failed.sent = false;
      FailLater(sequence, std::move(failed));
      return;
    }
    // When no other call is writing, this one writes everything queued (its own frame and those
    // of the calls that queue meanwhile) in as few send()s as it can.
    bool writer = false;
    {
      std::lock_guard<std::mutex> lock(out_mutex_);
      outbox_.append(frame);
      outbox_sequences_.push_back(sequence);
      if (deadline > outbox_deadline_) {
        outbox_deadline_ = deadline;
        outbox_timeout_ms_ = timeout_ms;
      }
      if (!writing_ && flush) writing_ = writer = true;
    }
    if (writer) Flush();
  }

  /** Frames taken off the queue to be written together, and how much of them went out. */
  struct Batch {
    std::string bytes;
    std::vector<std::uint64_t> sequences;
    Deadline deadline;  // the latest deadline of its calls
    int timeout_ms = 0;  // that call's timeout, for messages
    std::size_t sent = 0;  // bytes handed to the socket
  };

  /** Takes the queued frames into `batch` (true), or, when none are queued, gives up the writer role (false). */
  bool TakeBatch(Batch* batch) {
    std::lock_guard<std::mutex> lock(out_mutex_);
    if (outbox_.empty()) {
      writing_ = false;
      return false;
    }
    batch->bytes.clear();
    batch->bytes.swap(outbox_);
    batch->sequences.clear();
    batch->sequences.swap(outbox_sequences_);
    batch->deadline = outbox_deadline_;
    batch->timeout_ms = outbox_timeout_ms_;
    batch->sent = 0;
    outbox_deadline_ = Deadline::min();
    return true;
  }

  /**
   * A calling thread's writing (never the reader's): writes the queued frames
   * until the queue is empty, each batch within its deadline, then gives up
   * the writer role.
   */
  void Flush() {
    Batch batch;
    while (TakeBatch(&batch)) {
      Status written = Write(&batch, batch.deadline);
      if (!written.ok()) FailBatch(&batch, written);
    }
  }

  /**
   * The reader thread's writing, which never waits for the socket: takes the
   * writer role when it is free and writes what the socket accepts now. It
   * keeps the role while part of `*batch` is left (`*writer`: it holds the
   * role; other threads' calls meanwhile only queue behind it), and the
   * reader polls for POLLOUT to go on. A batch still not written at its
   * deadline fails as in Flush. Returns whether bytes are left to write.
   */
  bool WriteSome(Batch* batch, bool* writer) {
    if (!*writer) {
      std::lock_guard<std::mutex> lock(out_mutex_);
      if (writing_ || outbox_.empty()) return false;
      writing_ = *writer = true;
    }
    for (;;) {
      if (batch->sent == batch->bytes.size() && !TakeBatch(batch)) {
        *writer = false;
        return false;
      }
      Status written = Write(batch, Deadline::min());
      if (written.ok()) continue;
      if (written.code() == kTimeout && Clock::now() < batch->deadline) return true;
      FailBatch(batch, written);
    }
  }

  /**
   * Fails every call of a batch that could not be written with `why`, and
   * empties it. When part of it went out, the calls queued after it fail too
   * and the connection is shut, since a partial frame corrupts the stream for
   * every later call.
   */
  void FailBatch(Batch* batch, const Status& why) {
    const bool partly = batch->sent > 0;
    if (partly) {
      std::lock_guard<std::mutex> lock(out_mutex_);
      outbox_.clear();
      batch->sequences.insert(batch->sequences.end(), outbox_sequences_.begin(), outbox_sequences_.end());
      outbox_sequences_.clear();
    }
    for (const std::uint64_t sequence : batch->sequences) {
      Reply failed;
      failed.status = why;
      failed.sent = partly;
      FailLater(sequence, std::move(failed));
    }
    batch->bytes.clear();
    batch->sequences.clear();
    batch->sent = 0;
    if (partly) Shutdown();
  }

  /** Fails a call still waiting with `reply`, on the timer thread (no-op when it is complete already). */
  void FailLater(std::uint64_t sequence, Reply reply) {
    Pending pending;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto found = pending_.find(sequence);
      if (found == pending_.end()) return;
      pending = std::move(found->second);
      pending_.erase(found);
    }
    internal::TimerThread::Get().Cancel(pending.timer);
    reply.status.SetCall(address_, reply.sent);
    CompleteLater(std::move(pending.done), std::move(reply.status));
  }

  /**
   * Sends the rest of `batch`, waiting for the socket (and the write turn)
   * until `wait` — Deadline::min(): not at all. kTimeout when it cannot go on
   * within that, -13 when the connection is lost.
   */
  Status Write(Batch* batch, Deadline wait) {
    const auto late = [&] {
      return Status(kTimeout, "request to " + address_ + " not sent within " + std::to_string(batch->timeout_ms) + " ms");
    };
    WriteTurn turn(this, wait);
    if (!turn.held()) return late();
    const std::string& bytes = batch->bytes;
    while (batch->sent < bytes.size()) {
      if (fd_ < 0) return Status(kSendRecvFailed, "connection to " + address_ + " lost");
      const ssize_t n = ::send(fd_, bytes.data() + batch->sent, bytes.size() - batch->sent, MSG_NOSIGNAL);
      if (n > 0) {
        batch->sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd_, POLLOUT, 0};
        if (Clock::now() >= wait || ::poll(&p, 1, RemainingMs(wait)) == 0) return late();
        continue;
      }
      return Status(kSendRecvFailed, "connection to " + address_ + " lost (" + ErrnoText(errno) + ")");
    }
    return Status();
  }

  /** Connect, write the calls issued meanwhile, then read replies until the connection ends. */
  void Run(Deadline connect_deadline) {
    Status connected = Connect(connect_deadline);
    bool open = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (connected.ok() && !shutdown_requested_) {
        open = was_open_ = true;
      } else {
        SetClosed();
        close_reason_ = connected.ok() ? Status(kSendRecvFailed, "connection to " + address_ + " closed") : connected;
      }
    }
    if (connected.ok() && !open) {  // closed by Shutdown() while connecting
      WriteTurn turn(this);
      ::close(fd_);
      fd_ = -1;
    }
    if (!open) {
      FailAll(close_reason_, false);
      return;
    }
    // The calls issued while connecting, queued only (the reader writes them as it starts). The
    // state turns kOpen once none are left, so calls issued meanwhile queue behind them: frames go
    // out in the order their calls were issued.
    for (;;) {
      std::vector<Queued> queued;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        queued.swap(connecting_);
        if (queued.empty()) {
          if (shutdown_requested_) {
            SetClosed();
          } else {
            state_ = State::kOpen;
          }
          break;
        }
      }
      for (Queued& q : queued) Enqueue(q.sequence, q.head, q.body, q.deadline, q.timeout_ms, false);
    }
    Status end = ReadLoop();
    FailAll(end, true);
    WriteTurn turn(this);
    ::close(fd_);
    fd_ = -1;
  }

  Status Connect(Deadline deadline) {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    Status resolved = internal::ResolveSocketAddress(route_, SOCK_STREAM, &addr, &addr_len);
    if (!resolved.ok()) return resolved;
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status(kSendRecvFailed, "socket: " + ErrnoText(errno));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int err = 0;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int ready;
        do {
          ready = ::poll(&p, 1, RemainingMs(deadline));
        } while (ready < 0 && errno == EINTR);
        if (ready == 0) {
          ::close(fd);
          return Status(kTimeout, "cannot connect to " + address_ + " within " + std::to_string(kMinConnectMs) + " ms");
        }
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err != 0) {
      ::close(fd);
      return Status(kSendRecvFailed, "cannot connect to " + address_ + " (" + ErrnoText(err) + ")");
    }
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    std::string local_text;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {
      char host[INET6_ADDRSTRLEN] = {0};
      if (local.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&local);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        local_text = std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
      } else if (local.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&local);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        local_text = "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
      }
    }
    WriteTurn turn(this);
    fd_ = fd;
    std::lock_guard<std::mutex> lock(mutex_);
    local_address_ = local_text;
    return Status();
  }

  /** Reads and dispatches reply frames; returns why the connection ended. */
  Status ReadLoop() {
    std::string buffer;
    std::vector<char> chunk(kReadChunkBytes);
    bool chunk_filled = false;
    std::vector<Arrived> arrived;
    std::vector<Pending> targets;
    Batch out;            // what this thread is writing, while it holds the writer role
    bool writer = false;  // it holds the writer role
    for (;;) {
      // Dispatch every complete frame in the buffer (from `start`; consumed bytes are dropped once, after the loop).
      std::size_t start = 0;
      Status broken;  // set when the stream cannot go on (the replies before it are still handed over)
      for (;;) {
        const auto* at = reinterpret_cast<const std::uint8_t*>(buffer.data()) + start;
        const std::size_t left = buffer.size() - start;
        const std::int64_t checked = CheckFrame(at, left);
        if (checked < 0 && left > 0) {
          broken = Status(kInvalidPkg, "reply stream from " + address_ + " is not SRPC");
          break;
        }
        if (checked == 0 && left >= kFrameHeadOffset) {
          const auto* p = at;
          const std::uint64_t head_len = (std::uint64_t{p[1]} << 24) | (std::uint64_t{p[2]} << 16) | (std::uint64_t{p[3]} << 8) | p[4];
          const std::uint64_t body_len = (std::uint64_t{p[5]} << 24) | (std::uint64_t{p[6]} << 16) | (std::uint64_t{p[7]} << 8) | p[8];
          if (kFrameOverhead + head_len + body_len > kMaxReplyFrameBytes) {
            broken = Status(kInvalidPkg, "reply from " + address_ + " announces " + std::to_string(kFrameOverhead + head_len + body_len) +
                                           " bytes, more than the limit of " + std::to_string(kMaxReplyFrameBytes));
            break;
          }
        }
        if (checked <= 0) break;
        arrived.push_back(Decode(at, static_cast<std::size_t>(checked)));
        start += static_cast<std::size_t>(checked);
      }
      buffer.erase(0, start);
      // Match every reply of this read to its call under one lock, then complete the calls.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        for (Arrived& a : arrived) targets.push_back(Match(a));
        partial_bytes_ = buffer.size();
        partial_sequence_ = PeekSequence(reinterpret_cast<const std::uint8_t*>(buffer.data()), buffer.size());
      }
      dispatching = this;
      for (std::size_t i = 0; i < arrived.size(); ++i) {
        if (targets[i].done) Complete(targets[i], std::move(arrived[i].reply));
      }
      dispatching = nullptr;
      arrived.clear();
      targets.clear();
      // The calls the completions issued on this connection (and any queued meanwhile), as much
      // as the socket takes now: this thread never waits to write, so replies keep being read.
      const bool more_to_write = WriteSome(&out, &writer);
      if (!broken.ok()) return broken;
      // Wait in poll() unless the last read filled the whole chunk (more is likely there already);
      // while frames are left to write, also for room to write them, until their deadline.
      if (!chunk_filled) {
        pollfd p{fd_, static_cast<short>(more_to_write ? POLLIN | POLLOUT : POLLIN), 0};
        if (::poll(&p, 1, more_to_write ? RemainingMs(out.deadline) : -1) < 0 && errno == EINTR) continue;
      }
      const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
      chunk_filled = n == static_cast<ssize_t>(chunk.size());
      if (n > 0) {
        buffer.append(chunk.data(), static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return Status(kSendRecvFailed, "connection to " + address_ + " lost (closed by peer)");
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Status(kSendRecvFailed, "connection to " + address_ + " lost (" + ErrnoText(errno) + ")");
    }
  }

  /** One reply frame read, decoded, waiting to be handed to its call. */
  struct Arrived {
    std::uint64_t sequence = 0;
    bool decoded = false;
    Reply reply;
  };

  /** Decodes one complete frame (the call it belongs to is matched later, in Match). */
  Arrived Decode(const std::uint8_t* frame, std::size_t size) {
    Arrived a;
    const int decoded = DecodeFrame(frame, size, &a.reply.head, &a.reply.body);
    a.decoded = decoded == kSuccess;
    a.sequence = a.decoded ? a.reply.head.sequence() : PeekSequence(frame, size);
    if (!a.decoded) a.reply.status = Status(decoded, "reply from " + address_);
    return a;
  }

  /** The waiting call a reply belongs to, taken off pending_ (empty `done`: dropped); mutex_ held. */
  Pending Match(Arrived& a) {
    auto found = pending_.find(a.sequence);
    if (found == pending_.end()) {
      if (abandoned_set_.count(a.sequence) > 0) return Pending();  // its call timed out: dropped quietly
      if (pending_.size() != 1) {
        std::cerr << "msec: dropped a reply from " << address_ << " with sequence " << a.sequence << " that matches none of the "
                  << pending_.size() << " calls in flight\n";
        return Pending();
      }
      found = pending_.begin();
      if (a.decoded) {
        a.reply.status = Status(kInvalidSequence, "reply carries sequence " + std::to_string(a.sequence) + ", expected " +
                                                      std::to_string(found->first) + " (" + address_ + ")");
      }
    }
    Pending target = std::move(found->second);
    pending_.erase(found);
    return target;
  }

  /** Closes the connection for good and fails every call still waiting with `why` (request_sent() = `sent`). */
  void FailAll(const Status& why, bool sent) {
    std::map<std::uint64_t, Pending> pending;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      SetClosed();
      close_reason_ = why;
      pending.swap(pending_);
      connecting_.clear();
    }
    for (auto& entry : pending) {
      Reply reply;
      reply.status = why;
      reply.sent = sent;
      Complete(entry.second, std::move(reply));
    }
  }

  const Route route_;
  const std::string address_;
  // The turn to write (or to change fd_): one holder at a time, waited for with a deadline.
  // (A mutex + condition variable rather than std::timed_mutex, whose timed lock
  // ThreadSanitizer cannot follow.)
  std::mutex turn_mutex_;
  std::condition_variable turn_free_;
  bool turn_taken_ = false;
  int fd_ = -1;
  // Frames waiting to be written, their calls' sequences, the latest of their deadlines (and
  // that call's timeout, for messages), and whether a thread is writing them.
  std::mutex out_mutex_;
  std::string outbox_;
  std::vector<std::uint64_t> outbox_sequences_;
  Deadline outbox_deadline_ = Deadline::min();
  int outbox_timeout_ms_ = 0;
  bool writing_ = false;
  std::mutex mutex_;  // guards everything below
  State state_ = State::kConnecting;
  std::atomic<bool> closed_{false};  // state_ == kClosed, readable without mutex_
  bool was_open_ = false;
  bool shutdown_requested_ = false;
  Status close_reason_;
  std::string local_address_;
  std::map<std::uint64_t, Pending> pending_;
  std::vector<Queued> connecting_;  // calls issued while connecting, in order
  std::deque<std::uint64_t> abandoned_;
  std::unordered_set<std::uint64_t> abandoned_set_;
  std::size_t partial_bytes_ = 0;
  std::uint64_t partial_sequence_ = 0;
};

/** One connection per address; never destroyed (reader threads may outlive static destruction). */
struct Pool {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Connection>> connections;
};

Pool& ThePool() {
  static Pool* pool = new Pool;
  return *pool;
}

std::shared_ptr<Connection> ConnectionFor(const Route& route, const std::string& address, Deadline deadline) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  auto& slot = pool.connections[address];
  if (slot && !slot->Closed()) return slot;
  slot = std::make_shared<Connection>(route, address);
  slot->Open(std::max(deadline, Clock::now() + std::chrono::milliseconds(kMinConnectMs)));
  return slot;
}

/** Issues a TCP call on the address's pooled connection (a new one when the pooled one closed meanwhile). */
void ExchangeTcp(const Route& route, srpc::CRpcHead& head, const std::string& body, Deadline deadline, int timeout_ms,
                 ExchangeCallback done) {
  const std::string address = route.Address();
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (ConnectionFor(route, address, deadline)->Send(head, body, deadline, timeout_ms, done)) return;
  }
  CompleteLater(std::move(done), Status(kSendRecvFailed, "connection to " + address + " keeps closing").SetCall(address, false));
}

Status ExchangeUdp(const Route& route, srpc::CRpcHead& head, const std::string& body, Deadline deadline, int timeout_ms,
                   srpc::CRpcHead* reply_head, std::string* reply_body) {
  const std::string address = route.Address();
  const std::string label = address + "@udp";
  head.set_timeout_ms(BudgetMs(deadline));
  std::string frame;
  const int packed = EncodeFrame(head, body, &frame);
  if (packed != kSuccess) return Status(packed, "").SetCall(address, false);
  if (frame.size() > kMaxUdpFrameBytes) {
    return Status(kParaError, "request frame of " + std::to_string(frame.size()) + " bytes exceeds the UDP limit of " +
                                  std::to_string(kMaxUdpFrameBytes))
        .SetCall(address, false);
  }
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  Status resolved = internal::ResolveSocketAddress(route, SOCK_DGRAM, &addr, &addr_len);
  if (!resolved.ok()) return resolved.SetCall(address, false);
  const int fd = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(kSendRecvFailed, "socket: " + ErrnoText(errno)).SetCall(address, false);
  // A connected UDP socket reports ICMP "port unreachable" as ECONNREFUSED.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0 ||
      ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) < 0) {
    const int err = errno;
    ::close(fd);
    return Status(kSendRecvFailed, label + ": " + ErrnoText(err)).SetCall(address, false);
  }
  std::vector<char> datagram(kMaxUdpFrameBytes + 1);
  for (;;) {
    const ssize_t n = ::recv(fd, datagram.data(), datagram.size(), 0);
    if (n >= 0) {
      ::close(fd);
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(datagram.data());
      const std::size_t len = static_cast<std::size_t>(n);
      if (CheckFrame(bytes, len) != static_cast<std::int64_t>(len)) {
        return Status(kInvalidPkg, "datagram from " + label + " is not one SRPC frame").SetCall(address, true);
      }
      const int decoded = DecodeFrame(bytes, len, reply_head, reply_body);
      if (decoded != kSuccess) return Status(decoded, "reply from " + label).SetCall(address, true);
      if (reply_head->sequence() != head.sequence()) {
        return Status(kInvalidSequence, "reply carries sequence " + std::to_string(reply_head->sequence()) + ", expected " +
                                            std::to_string(head.sequence()) + " (" + label + ")")
            .SetCall(address, true);
      }
      return Status().SetCall(address, true);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      const int err = errno;
      ::close(fd);
      return Status(kSendRecvFailed, label + ": " + ErrnoText(err)).SetCall(address, true);
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, RemainingMs(deadline));
    if (ready == 0) {
      ::close(fd);
      return Status(kTimeout, "no reply from " + label + " within " + std::to_string(timeout_ms) + " ms").SetCall(address, true);
    }
  }
}

}  // namespace

void ExchangeAsync(const Route& route, srpc::CRpcHead head, const std::string& body, Deadline deadline, int timeout_ms,
                   ExchangeCallback done) {
  if (Clock::now() >= deadline) {
    CompleteLater(std::move(done),
                  Status(kTimeout, "no time left to call " + route.Address() + " before the deadline").SetCall(route.Address(), false));
    return;
  }
  if (route.transport == Transport::kUdp) {
    // One datagram each way on a socket of its own: the blocking exchange, on a thread of its own.
    std::thread([route, head = std::move(head), body, deadline, timeout_ms, done = std::move(done)]() mutable {
      srpc::CRpcHead reply_head;
      std::string reply_body;
      Status status = ExchangeUdp(route, head, body, deadline, timeout_ms, &reply_head, &reply_body);
      done(std::move(status), std::move(reply_head), std::move(reply_body));
    }).detach();
    return;
  }
  ExchangeTcp(route, head, body, deadline, timeout_ms, std::move(done));
}

Status Exchange(const Route& route, srpc::CRpcHead head, const std::string& body, Deadline deadline, int timeout_ms,
                srpc::CRpcHead* reply_head, std::string* reply_body) {
  // Shared with the completion, which may still be unwinding when get() returns.
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> result = promise->get_future();
  ExchangeAsync(route, std::move(head), body, deadline, timeout_ms,
                [promise, reply_head, reply_body](Status status, srpc::CRpcHead head, std::string body) {
                  if (status.ok()) {
                    *reply_head = std::move(head);
                    *reply_body = std::move(body);
                  }
                  promise->set_value(std::move(status));
                });
  return result.get();
}

void CloseConnections() {
  std::map<std::string, std::shared_ptr<Connection>> connections;
  {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    connections.swap(pool.connections);
  }
  for (auto& entry : connections) {
    if (entry.second) entry.second->Shutdown();
  }
}

std::vector<ConnectionInfo> OpenConnections() {
  std::vector<ConnectionInfo> out;
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  for (auto& entry : pool.connections) {
    if (entry.second && !entry.second->Closed()) out.push_back(entry.second->Info());
  }
  return out;
}

}  // namespace msec
