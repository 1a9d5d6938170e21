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

/** Decoded reply or failure delivered to a waiting call. */
struct Reply {
  Status status;
  /** False when the call's request was never (completely) handed to the socket. */
  bool sent = true;
  srpc::CRpcHead head;
  std::string body;
};

/** One persistent TCP connection carrying many calls, read by its own thread. */
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Route route, std::string address) : route_(std::move(route)), address_(std::move(address)) {}

  /** Starts the reader thread, which connects first (within `connect_deadline`). */
  void Start(Deadline connect_deadline) {
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

  /** True when no call is waiting for a reply. */
  bool Idle() {
    std::lock_guard<std::mutex> lock(mutex_);
    return pending_.empty();
  }

  ConnectionInfo Info() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ConnectionInfo{address_, local_address_, pending_.size()};
  }

  /**
   * One call. `*stale` is set (and nothing sent) when the connection had
   * already closed after being open: the caller takes a new one.
   */
  Status Call(srpc::CRpcHead& head, const std::string& body, Deadline deadline, int timeout_ms, Reply* reply, bool* stale) {
    // "<timeout_ms> ms" for error messages, built only when one is needed.
    const auto within = [timeout_ms] { return std::to_string(timeout_ms) + " ms"; };
    *stale = false;
    const std::uint64_t sequence = head.sequence();
    std::future<Reply> future;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!state_changed_.wait_until(lock, deadline, [this] { return state_ != State::kConnecting; })) {
        return Status(kTimeout, "cannot connect to " + address_ + " within " + within()).SetCall(address_, false);
      }
      if (state_ == State::kClosed) {
        if (was_open_) {
          *stale = true;
          return Status();
        }
        return Status(close_reason_).SetCall(address_, false);
      }
      auto promise = std::make_shared<std::promise<Reply>>();
      future = promise->get_future();
      pending_[sequence] = std::move(promise);
    }
    head.set_timeout_ms(BudgetMs(deadline));
    std::string frame;
    const int packed = EncodeFrame(head, body, &frame);
    if (packed != kSuccess) {
      Forget(sequence, false);
      return Status(packed, "").SetCall(address_, false);
    }
    // Queue the frame; when no other call is writing, this call writes everything queued
    // (its own frame and those of the calls that queue meanwhile) in as few send()s as it can.
    bool writer = false;
    {
      std::lock_guard<std::mutex> lock(out_mutex_);
      outbox_.append(frame);
      outbox_sequences_.push_back(sequence);
      if (!writing_) writing_ = writer = true;
    }
    if (writer) Flush(deadline, timeout_ms);
    if (future.wait_until(deadline) != std::future_status::ready) {
      bool receiving = false;
      if (Forget(sequence, true, &receiving)) {
        if (receiving) {
          // The stream stopped mid-frame. With no other call waiting, close it rather than let the
          // rest of that frame (or its absence) garble the next call's reply; the next call reconnects.
          if (Idle()) Shutdown();
          return Status(kRecvTimeout, "reply from " + address_ + " incomplete after " + within()).SetCall(address_, true);
        }
        return Status(kTimeout, "no reply from " + address_ + " within " + within()).SetCall(address_, true);
      }
      // The reader took it meanwhile: the reply (or failure) is set.
    }
    *reply = future.get();
    reply->status.SetCall(address_, reply->sent);
    return reply->status;
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

  /**
   * Removes a call that gives up; true when it was still waiting. A timed-out
   * call's sequence is remembered so its late reply is dropped quietly.
   * `*receiving`: part of its reply frame had arrived.
   */
  bool Forget(std::uint64_t sequence, bool abandoned, bool* receiving = nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = pending_.find(sequence);
    if (found == pending_.end()) return false;
    if (receiving != nullptr) {
      *receiving = partial_bytes_ > 0 && (partial_sequence_ == sequence || (partial_sequence_ == 0 && pending_.size() == 1));
    }
    pending_.erase(found);
    if (abandoned) {
      abandoned_.push_back(sequence);
      abandoned_set_.insert(sequence);
      if (abandoned_.size() > kAbandonedSequencesKept) {
        abandoned_set_.erase(abandoned_.front());
        abandoned_.pop_front();
      }
    }
    return true;
  }

  /**
   * Writes the queued frames until the queue is empty, then gives up the
   * writer role. When a batch cannot be written, every call in it fails with
   * the reason (and the connection is shut when part of it went out, since a
   * partial frame would corrupt the stream for every later call).
   */
  void Flush(Deadline deadline, int timeout_ms) {
    std::string batch;
    std::vector<std::uint64_t> sequences;
    for (;;) {
      batch.clear();
      sequences.clear();
      {
        std::lock_guard<std::mutex> lock(out_mutex_);
        if (outbox_.empty()) {
          writing_ = false;
          return;
        }
        batch.swap(outbox_);
        sequences.swap(outbox_sequences_);
      }
      bool partly = false;
      Status written = Write(batch, deadline, timeout_ms, &partly);
      if (written.ok()) continue;
      if (partly) {
        // Calls queued after this batch would follow a partial frame: fail them too.
        std::lock_guard<std::mutex> lock(out_mutex_);
        outbox_.clear();
        sequences.insert(sequences.end(), outbox_sequences_.begin(), outbox_sequences_.end());
        outbox_sequences_.clear();
      }
      for (const std::uint64_t sequence : sequences) {
        Reply failed;
        failed.status = written;
        failed.sent = partly;
        Deliver(sequence, std::move(failed));
      }
      if (partly) Shutdown();
    }
  }

  /** Completes a call still waiting with `reply` (no-op when it gave up already). */
  void Deliver(std::uint64_t sequence, Reply reply) {
    std::shared_ptr<std::promise<Reply>> target;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto found = pending_.find(sequence);
      if (found == pending_.end()) return;
      target = std::move(found->second);
      pending_.erase(found);
    }
    target->set_value(std::move(reply));
  }

  Status Write(const std::string& frame, Deadline deadline, int timeout_ms, bool* partly) {
    WriteTurn turn(this, deadline);
    if (!turn.held()) {
      return Status(kTimeout, "request to " + address_ + " not sent within " + std::to_string(timeout_ms) + " ms");
    }
    std::size_t sent = 0;
    while (sent < frame.size()) {
      if (fd_ < 0) return Status(kSendRecvFailed, "connection to " + address_ + " lost");
      const ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        *partly = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd_, POLLOUT, 0};
        const int ready = ::poll(&p, 1, RemainingMs(deadline));
        if (ready == 0) return Status(kTimeout, "request to " + address_ + " not sent within " + std::to_string(timeout_ms) + " ms");
        continue;
      }
      return Status(kSendRecvFailed, "connection to " + address_ + " lost (" + ErrnoText(errno) + ")");
    }
    return Status();
  }

  /** Connect, then read replies until the connection ends. */
  void Run(Deadline connect_deadline) {
    Status connected = Connect(connect_deadline);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (connected.ok() && !shutdown_requested_) {
        state_ = State::kOpen;
        was_open_ = true;
      } else {
        SetClosed();
        close_reason_ = connected.ok() ? Status(kSendRecvFailed, "connection to " + address_ + " closed") : connected;
      }
    }
    state_changed_.notify_all();
    if (connected.ok() && !was_open_) {  // closed by Shutdown() while connecting
      WriteTurn turn(this);
      ::close(fd_);
      fd_ = -1;
    }
    if (!was_open_) return;
    Status end = ReadLoop();
    FailAll(end);
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
    std::vector<std::shared_ptr<std::promise<Reply>>> targets;
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
      // Match every reply of this read to its call under one lock, then wake the calls.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        for (Arrived& a : arrived) targets.push_back(Match(a));
        partial_bytes_ = buffer.size();
        partial_sequence_ = PeekSequence(reinterpret_cast<const std::uint8_t*>(buffer.data()), buffer.size());
      }
      for (std::size_t i = 0; i < arrived.size(); ++i) {
        if (targets[i]) targets[i]->set_value(std::move(arrived[i].reply));
      }
      arrived.clear();
      targets.clear();
      if (!broken.ok()) return broken;
      // Wait in poll() unless the last read filled the whole chunk (more is likely there already).
      if (!chunk_filled) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, -1) < 0 && errno == EINTR) continue;
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

  /** The waiting call a reply belongs to, taken off pending_ (null: dropped); mutex_ held. */
  std::shared_ptr<std::promise<Reply>> Match(Arrived& a) {
    auto found = pending_.find(a.sequence);
    if (found == pending_.end()) {
      if (abandoned_set_.count(a.sequence) > 0) return nullptr;  // its call timed out: dropped quietly
      if (pending_.size() != 1) {
        std::cerr << "msec: dropped a reply from " << address_ << " with sequence " << a.sequence << " that matches none of the "
                  << pending_.size() << " calls in flight\n";
        return nullptr;
      }
      found = pending_.begin();
      if (a.decoded) {
        a.reply.status = Status(kInvalidSequence, "reply carries sequence " + std::to_string(a.sequence) + ", expected " +
                                                      std::to_string(found->first) + " (" + address_ + ")");
      }
    }
    std::shared_ptr<std::promise<Reply>> target = std::move(found->second);
    pending_.erase(found);
    return target;
  }

  void FailAll(const Status& why) {
    std::map<std::uint64_t, std::shared_ptr<std::promise<Reply>>> pending;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      SetClosed();
      close_reason_ = why;
      pending.swap(pending_);
    }
    state_changed_.notify_all();
    for (auto& entry : pending) {
      Reply reply;
      reply.status = why;
      entry.second->set_value(std::move(reply));
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
  // Frames waiting to be written, their calls' sequences, and whether a call is writing them.
  std::mutex out_mutex_;
  std::string outbox_;
  std::vector<std::uint64_t> outbox_sequences_;
  bool writing_ = false;
  std::mutex mutex_;  // guards everything below
  std::condition_variable state_changed_;
  State state_ = State::kConnecting;
  std::atomic<bool> closed_{false};  // state_ == kClosed, readable without mutex_
  bool was_open_ = false;
  bool shutdown_requested_ = false;
  Status close_reason_;
  std::string local_address_;
  std::map<std::uint64_t, std::shared_ptr<std::promise<Reply>>> pending_;
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
  slot->Start(std::max(deadline, Clock::now() + std::chrono::milliseconds(kMinConnectMs)));
  return slot;
}

Status ExchangeTcp(const Route& route, srpc::CRpcHead& head, const std::string& body, Deadline deadline, int timeout_ms,
                   srpc::CRpcHead* reply_head, std::string* reply_body) {
  const std::string address = route.Address();
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<Connection> connection = ConnectionFor(route, address, deadline);
    Reply reply;
    bool stale = false;
    Status status = connection->Call(head, body, deadline, timeout_ms, &reply, &stale);
    if (stale && attempt < 3) continue;
    if (stale) return Status(kSendRecvFailed, "connection to " + address + " keeps closing").SetCall(address, false);
    if (!status.ok()) return status;
    *reply_head = std::move(reply.head);
    *reply_body = std::move(reply.body);
    return status;
  }
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

Status Exchange(const Route& route, srpc::CRpcHead head, const std::string& body, Deadline deadline, int timeout_ms,
                srpc::CRpcHead* reply_head, std::string* reply_body) {
  if (Clock::now() >= deadline) {
    return Status(kTimeout, "no time left to call " + route.Address() + " before the deadline").SetCall(route.Address(), false);
  }
  return route.transport == Transport::kUdp ? ExchangeUdp(route, head, body, deadline, timeout_ms, reply_head, reply_body)
                                            : ExchangeTcp(route, head, body, deadline, timeout_ms, reply_head, reply_body);
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
