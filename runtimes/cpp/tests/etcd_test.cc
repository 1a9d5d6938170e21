// The etcd resolver against a real etcd (the binary in $MSEC_TEST_ETCD, set
// by CMake; keys written with etcdctl): first read, scale-out and removal
// through the watch, malformed values skipped, configuration from
// $MSEC_ETCD_ENDPOINTS / $MSEC_ETCD_PREFIX consulted by ResolveInstances
// before the routes file, and etcd SIGKILLed: cached routes keep serving, an
// uncached name fails -15 saying etcd is unreachable; a resolver that never
// reached etcd says "no routes cached".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "msec/msec.h"

namespace {

using Clock = std::chrono::steady_clock;

/**
 * A free loopback port for a process started later, picked below the kernel's
 * ephemeral range (as test/free-port.ts does): a port from that range could be
 * taken as the local port of an outgoing connection before etcd binds it.
 */
std::uint16_t FreePort() {
  static std::mt19937 random{std::random_device{}()};
  static std::set<int> handed_out;
  int high = 32768;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  if (range) range >> high;
  for (int attempt = 0; attempt < 500; ++attempt) {
    const int port = 10000 + static_cast<int>(random() % static_cast<unsigned>(high - 10000));
    if (!handed_out.insert(port).second) continue;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) return static_cast<std::uint16_t>(port);
  }
  std::cerr << "no free TCP port below the ephemeral range\n";
  std::exit(1);
}

/** One etcd member on loopback with its own data folder. */
class Etcd {
 public:
  Etcd() {
    char dir[] = "/tmp/msec-cpp-etcd-XXXXXX";
    data_dir_ = ::mkdtemp(dir);
    const std::string client = "http://127.0.0.1:" + std::to_string(FreePort());
    const std::string peer = "http://127.0.0.1:" + std::to_string(FreePort());
    url_ = client;
    const char* binary = std::getenv("MSEC_TEST_ETCD");
    const std::string etcd = binary != nullptr ? binary : "etcd";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<std::string> args = {etcd, "--name", "m", "--data-dir", data_dir_, "--listen-client-urls", client,
                                       "--advertise-client-urls", client, "--listen-peer-urls", peer,
                                       "--initial-advertise-peer-urls", peer, "--initial-cluster", "m=" + peer,
                                       "--log-level", "error", "--logger", "zap"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    // Ready when etcdctl can write.
    for (int i = 0; i < 200; ++i) {
      if (Ctl("put /ready 1 >/dev/null 2>&1")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::cerr << "etcd did not start at " << url_ << " (or etcdctl is missing: Debian etcd-client)\n";
    std::exit(1);
  }
  ~Etcd() {
    Kill();
    std::system(("rm -rf " + data_dir_).c_str());
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  /** Runs `etcdctl --endpoints=<url> <args>`; true on exit 0. */
  bool Ctl(const std::string& args) const {
    return std::system(("ETCDCTL_API=3 etcdctl --endpoints=" + url_ + " " + args).c_str()) == 0;
  }
  void Put(const std::string& key, const std::string& value) const {
    CHECK(Ctl("put '" + key + "' '" + value + "' >/dev/null"));
  }
  void Delete(const std::string& key) const { CHECK(Ctl("del '" + key + "' >/dev/null")); }
  const std::string& url() const { return url_; }

 private:
  std::string data_dir_;
  std::string url_;
  pid_t pid_ = -1;
};

std::string Ports(const std::vector<msec::RouteInstance>& instances) {
  std::string out;
  for (const auto& i : instances) {
    out += (out.empty() ? "" : " ") + i.route.Address() + (i.route.transport == msec::Transport::kUdp ? "@udp" : "") + "=" +
           std::to_string(i.weight);
  }
  return out;
}

std::string ResolveText(msec::Resolver& resolver, const std::string& name) {
  std::vector<msec::RouteInstance> instances;
  msec::Status status = resolver.Resolve(name, &instances);
  return status.ok() ? Ports(instances) : status.ToString();
}

/** Polls `resolver` until `name` resolves to `expected` or `ms` passed; returns what it saw last. */
std::string WaitFor(msec::Resolver& resolver, const std::string& name, const std::string& expected, int ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  std::string got;
  while (Clock::now() < until) {
    got = ResolveText(resolver, name);
    if (got == expected) return got;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return got;
}

const char* kInstanceA = R"({"ip":"127.0.0.1","port":7001,"protocol":"tcp","weight":100})";
const char* kInstanceB = R"({"ip":"127.0.0.1","port":7002,"weight":250})";
const char* kInstanceC = R"({"ip":"::1","port":7003,"protocol":"udp"})";

}  // namespace

TEST(instance_values_parse_as_in_the_ts_runtime) {
  msec::RouteInstance i;
  CHECK(msec::ParseEtcdInstanceValue(kInstanceC, &i).ok());
  CHECK_EQ(i.route.Address(), "[::1]:7003");
  CHECK(i.route.transport == msec::Transport::kUdp);
  CHECK_EQ(i.weight, 100u);
  CHECK_EQ(msec::ParseEtcdInstanceValue(R"({"ip":"a","port":0})", &i).message(), "invalid parameter: port must be 1..65535");
  CHECK_EQ(msec::ParseEtcdInstanceValue(R"({"port":1})", &i).message(), "invalid parameter: ip must be a non-empty string");
  CHECK_EQ(msec::ParseEtcdInstanceValue(R"({"ip":"a","port":1,"protocol":"sctp"})", &i).message(),
           "invalid parameter: protocol must be \"tcp\" or \"udp\"");
  CHECK_EQ(msec::ParseEtcdInstanceValue(R"({"ip":"a","port":1,"weight":0})", &i).message(),
           "invalid parameter: weight must be an integer > 0");
  CHECK(!msec::ParseEtcdInstanceValue("not json", &i).ok());
  std::vector<std::string> endpoints;
  CHECK(msec::ParseEtcdEndpoints(" http://127.0.0.1:2379/ , http://[::1]:2379", &endpoints).ok());
  CHECK_EQ(endpoints.size(), 2u);
  CHECK_EQ(endpoints[0], "http://127.0.0.1:2379");
  CHECK_EQ(msec::ParseEtcdEndpoints("127.0.0.1:2379", &endpoints).message(),
           "invalid parameter: invalid etcd endpoint \"127.0.0.1:2379\" (expected http://host:port)");
  CHECK(!msec::ParseEtcdEndpoints("https://h:1", &endpoints).ok());
  CHECK(!msec::ParseEtcdEndpoints(" , ", &endpoints).ok());
}

TEST(resolver_against_a_real_etcd_watch_cache_and_outage) {
  Etcd etcd;
  const std::string prefix = "/cpptest";
  etcd.Put(prefix + "/services/Etcd.Echo/127.0.0.1:7001", kInstanceA);
  etcd.Put(prefix + "/services/Etcd.Echo/127.0.0.1:7002", kInstanceB);
  etcd.Put("/other/services/Etcd.Echo/127.0.0.1:7009", kInstanceA);  // another prefix: not seen
  std::mutex invalid_mutex;  // the handler runs on the watch thread
  std::vector<std::string> invalid_values;
  const auto invalid = [&] {
    std::lock_guard<std::mutex> lock(invalid_mutex);
    return invalid_values;
  };
  msec::EtcdSettings settings;
  settings.endpoints = {etcd.url()};
  settings.prefix = prefix;
  auto resolver = msec::EtcdResolver::Start(settings, [&](const std::string& key, const std::string& reason) {
    std::lock_guard<std::mutex> lock(invalid_mutex);
    invalid_values.push_back(key + ": " + reason);
  });
  CHECK(resolver->WaitReady(5000));
  CHECK_EQ(ResolveText(*resolver, "Etcd.Echo"), "127.0.0.1:7001=100 127.0.0.1:7002=250");
  CHECK_EQ(resolver->Describe(), "etcd " + etcd.url() + " prefix /cpptest");

  // Scale-out, removal and a malformed value arrive through the watch (milliseconds on loopback;
  // the 3 s bound only keeps a loaded machine from failing the test).
  for (int i = 0; i < 50 && !resolver->Connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(resolver->Connected());
  etcd.Put(prefix + "/services/Etcd.Echo/[::1]:7003", kInstanceC);
  CHECK_EQ(WaitFor(*resolver, "Etcd.Echo", "127.0.0.1:7001=100 127.0.0.1:7002=250 [::1]:7003@udp=100", 3000),
           "127.0.0.1:7001=100 127.0.0.1:7002=250 [::1]:7003@udp=100");
  etcd.Delete(prefix + "/services/Etcd.Echo/127.0.0.1:7001");
  CHECK_EQ(WaitFor(*resolver, "Etcd.Echo", "127.0.0.1:7002=250 [::1]:7003@udp=100", 3000), "127.0.0.1:7002=250 [::1]:7003@udp=100");
  etcd.Put(prefix + "/services/Etcd.Bad/127.0.0.1:1", R"({"ip":"127.0.0.1","port":70000})");
  for (int i = 0; i < 300 && invalid().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::vector<std::string> seen = invalid();
  CHECK_EQ(seen.size(), 1u);
  if (!seen.empty()) CHECK_EQ(seen[0], prefix + "/services/Etcd.Bad/127.0.0.1:1: invalid parameter: port must be 1..65535");
  CHECK_EQ(ResolveText(*resolver, "Etcd.Bad"), "");

  // Configured as users configure it: the environment, consulted before the routes file.
  char cwd_template[] = "/tmp/msec-cpp-etcd-cwd-XXXXXX";
  const std::string cwd = ::mkdtemp(cwd_template);
  CHECK_EQ(::chdir(cwd.c_str()), 0);
  ::unsetenv("MSEC_ROUTES");
  ::setenv("MSEC_ETCD_ENDPOINTS", etcd.url().c_str(), 1);
  ::setenv("MSEC_ETCD_PREFIX", prefix.c_str(), 1);
  std::vector<msec::RouteInstance> instances;
  CHECK(msec::ResolveInstances("Etcd.Echo", &instances).ok());
  CHECK_EQ(Ports(instances), "127.0.0.1:7002=250 [::1]:7003@udp=100");
  msec::Route route;
  CHECK(msec::GetRoute("Etcd.Echo", &route).ok());
  msec::Status cold = msec::ResolveInstances("Etcd.Cold", &instances);
  CHECK_EQ(cold.code(), msec::kGetRouteFailed);
  CHECK_EQ(cold.message(), "get route failed: no route for Etcd.Cold (looked in: etcd " + etcd.url() +
                               " prefix /cpptest, routes file etc/routes.conf (missing))");

  // etcd dies: the cached routes keep serving; an uncached name says where it looked and why.
  etcd.Kill();
  for (int i = 0; i < 100 && resolver->Connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(!resolver->Connected());
  CHECK_EQ(ResolveText(*resolver, "Etcd.Echo"), "127.0.0.1:7002=250 [::1]:7003@udp=100");
  CHECK(msec::ResolveInstances("Etcd.Echo", &instances).ok());
  CHECK_EQ(Ports(instances), "127.0.0.1:7002=250 [::1]:7003@udp=100");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a reconnect attempt has failed
  cold = msec::ResolveInstances("Etcd.Cold", &instances);
  CHECK_EQ(cold.code(), msec::kGetRouteFailed);
  const std::string expected_start =
      "get route failed: no route for Etcd.Cold (looked in: etcd " + etcd.url() + " prefix /cpptest (unreachable: etcd unreachable (" +
      etcd.url() + ": Connection refused); serving cached routes), routes file etc/routes.conf (missing))";
  CHECK_EQ(cold.message(), expected_start);
  resolver->Close();
  ::unsetenv("MSEC_ETCD_ENDPOINTS");
  ::unsetenv("MSEC_ETCD_PREFIX");
}

TEST(resolver_that_never_reached_etcd_says_no_routes_cached) {
  msec::EtcdSettings settings;
  settings.endpoints = {"http://127.0.0.1:" + std::to_string(FreePort())};
  auto resolver = msec::EtcdResolver::Start(settings);
  const auto started = Clock::now();
  CHECK_EQ(ResolveText(*resolver, "Any.Name"), "");  // waits for the first (failed) read, not 3 s
  CHECK(Clock::now() - started < std::chrono::milliseconds(2500));
  CHECK_EQ(resolver->Describe(), "etcd " + settings.endpoints[0] + " prefix /msec (unreachable: etcd unreachable (" +
                                     settings.endpoints[0] + ": Connection refused); no routes cached)");
  CHECK(!resolver->WaitReady(10));
  resolver->Close();
}

int main(int argc, char** argv) { return msec_test::RunAll(argc, argv); }
