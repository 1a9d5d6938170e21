#include "msec/route.h"

#include "msec/balancer.h"
#include "msec/etcd.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

namespace msec {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitWords(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

/** `Group.Service`: two or more dot-separated parts without `:`, `@` or spaces. */
bool IsServiceName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  bool dot = false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == ':' || c == '@' || IsSpace(c)) return false;
    if (c == '.') {
      if (name[i - 1] == '.') return false;
      dot = true;
    }
  }
  return dot;
}

}  // namespace

std::string ConfigValue(const std::string& path, std::string_view section, std::string_view key) {
  std::ifstream in(path);
  if (!in) return "";
  std::string line;
  std::string current;
  std::string value;
  while (std::getline(in, line)) {
    const std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[' && l.back() == ']') {
      current = std::string(Trim(l.substr(1, l.size() - 2)));
      continue;
    }
    const std::size_t eq = l.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    if (current == section && Trim(l.substr(0, eq)) == key) value = std::string(Trim(l.substr(eq + 1)));
  }
  return value;
}

namespace {

/** The routes file as last read, shared by all threads. */
struct RoutesCache {
  std::mutex mutex;
  std::string path;
  std::string stamp;  // "mtime:size", or "missing"
  std::chrono::steady_clock::time_point checked_at;
  bool loaded = false;
  RouteTable table;
  Status failure;
};

/** Re-reads the file when the path, its mtime or its size changed (at most once per kRoutesRecheckMs). */
void Refresh(RoutesCache& cache) {
  const std::string path = DefaultRoutesPath();
  const auto now = std::chrono::steady_clock::now();
  if (cache.loaded && path == cache.path && now - cache.checked_at < std::chrono::milliseconds(kRoutesRecheckMs)) return;
  cache.checked_at = now;
  struct stat st {};
  std::string stamp = "missing";
  if (::stat(path.c_str(), &st) == 0) {
    stamp = std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size);
  }
  if (cache.loaded && path == cache.path && stamp == cache.stamp) return;
  cache.loaded = true;
  cache.path = path;
  cache.stamp = stamp;
  cache.table.clear();
  cache.failure = Status();
  if (stamp == "missing") return;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  cache.failure = ParseRoutes(text.str(), path, &cache.table);
}

}  // namespace

std::string Route::Address() const {
  const std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
  return host + ":" + std::to_string(port);
}

std::optional<Route> ParseLiteral(std::string_view text) {
  const std::size_t at = text.find('@');
  const std::string_view main = at == std::string_view::npos ? text : text.substr(0, at);
  const std::string_view suffix = at == std::string_view::npos ? std::string_view() : text.substr(at + 1);
  const std::size_t colon = main.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view ip = main.substr(0, colon);
  const std::string_view port_text = main.substr(colon + 1);
  if (!AllDigits(port_text) || port_text.size() > 5) return std::nullopt;
  const int port = std::atoi(std::string(port_text).c_str());
  if (port < 1 || port > 65535) return std::nullopt;
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip.empty()) return std::nullopt;
  Route route;
  route.ip = std::string(ip);
  route.port = static_cast<std::uint16_t>(port);
  route.transport = suffix == "udp" ? Transport::kUdp : Transport::kTcp;
  return route;
}

Status ParseRoutes(std::string_view text, const std::string& filename, RouteTable* table) {
  table->clear();
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::size_t hash = raw.find('#');
    const std::string_view line = Trim(hash == std::string_view::npos ? raw : raw.substr(0, hash));
    if (line.empty()) continue;
    auto fail = [&](const std::string& detail) {
      table->clear();
      return Status(kGetRouteFailed, filename + ":" + std::to_string(line_no) + ": " + detail);
    };
    const std::vector<std::string_view> parts = SplitWords(line);
    if (parts.size() < 2 || parts.size() > 3) {
      return fail("expected \"<Group.Service> <ip:port[@tcp|@udp]> [weight=N]\", got \"" + std::string(line) + "\"");
    }
    const std::string_view name = parts[0];
    const std::string_view address = parts[1];
    if (!IsServiceName(name)) return fail("service name \"" + std::string(name) + "\" is not of the form Group.Service");
    const std::optional<Route> route = ParseLiteral(address);
    const std::size_t at = address.find('@');
    const std::string_view suffix = at == std::string_view::npos ? std::string_view("tcp") : address.substr(at + 1);
    if (!route || (suffix != "tcp" && suffix != "udp")) {
      return fail("invalid address \"" + std::string(address) + "\" (expected ip:port, ip:port@tcp or ip:port@udp)");
    }
    std::uint64_t weight = kDefaultRouteWeight;
    if (parts.size() == 3) {
      const std::string_view w = parts[2];
      const std::string_view digits = w.substr(0, 7) == "weight=" ? w.substr(7) : std::string_view();
      // Same bound as the TypeScript runtime: a positive safe integer (< 2^53).
      const unsigned long long value = AllDigits(digits) && digits.size() <= 16 ? std::stoull(std::string(digits)) : 0;
      if (value == 0 || value > kMaxRouteWeight) return fail("expected weight=N with N > 0, got \"" + std::string(w) + "\"");
      weight = value;
    }
    std::vector<RouteInstance>& list = (*table)[std::string(name)];
    for (const RouteInstance& existing : list) {
      if (existing.route.ip == route->ip && existing.route.port == route->port) {
        return fail(std::string(name) + " lists " + std::string(address) + " twice");
      }
    }
    list.push_back(RouteInstance{*route, weight});
  }
  return Status();
}

std::string DefaultRoutesPath() {
  const char* env = std::getenv(kRoutesEnv);
  if (env != nullptr && env[0] != '\0') return env;
  std::string configured = ConfigValue(kDefaultConfigFile, "ROUTE", "File");
  if (!configured.empty()) return configured;
  return kDefaultRoutesFile;
}

namespace {

/** The routes file (path from DefaultRoutesPath, re-checked at most once per kRoutesRecheckMs). */
class RoutesFileResolver : public Resolver {
 public:
  Status Resolve(std::string_view service, std::vector<RouteInstance>* instances) override {
    std::lock_guard<std::mutex> lock(cache_.mutex);
    Refresh(cache_);
    if (!cache_.failure.ok()) return cache_.failure;
    const auto found = cache_.table.find(service);
    if (found != cache_.table.end()) *instances = found->second;
    return Status();
  }
  std::string Describe() override {
    std::lock_guard<std::mutex> lock(cache_.mutex);
    Refresh(cache_);
    return "routes file " + cache_.path + (cache_.stamp == "missing" ? " (missing)" : "");
  }

 private:
  RoutesCache cache_;
};

class StaticResolver : public Resolver {
 public:
  explicit StaticResolver(RouteTable table) : table_(std::move(table)) {}
  Status Resolve(std::string_view service, std::vector<RouteInstance>* instances) override {
    const auto found = table_.find(service);
    if (found != table_.end()) *instances = found->second;
    return Status();
  }
  std::string Describe() override { return "static table (" + std::to_string(table_.size()) + " services)"; }

 private:
  const RouteTable table_;
};

struct Resolvers {
  std::mutex mutex;
  std::vector<std::shared_ptr<Resolver>> registered;
  std::shared_ptr<Resolver> routes_file = std::make_shared<RoutesFileResolver>();
};

/** Never destroyed: calls may run on threads that outlive static destruction. */
Resolvers& TheResolvers() {
  static Resolvers* resolvers = new Resolvers;
  return *resolvers;
}

/** Registered resolvers, then etcd (when configured), then the routes file. */
std::vector<std::shared_ptr<Resolver>> ResolverChain() {
  Resolvers& r = TheResolvers();
  std::vector<std::shared_ptr<Resolver>> chain;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    chain = r.registered;
  }
  if (std::shared_ptr<Resolver> etcd = ConfiguredEtcdResolver()) chain.push_back(std::move(etcd));
  chain.push_back(r.routes_file);
  return chain;
}

}  // namespace

std::shared_ptr<Resolver> MakeStaticResolver(RouteTable table) { return std::make_shared<StaticResolver>(std::move(table)); }

void RegisterResolver(std::shared_ptr<Resolver> resolver) {
  Resolvers& r = TheResolvers();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.registered.push_back(std::move(resolver));
}

void UnregisterResolver(const std::shared_ptr<Resolver>& resolver) {
  Resolvers& r = TheResolvers();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto found = std::find(r.registered.begin(), r.registered.end(), resolver);
  if (found != r.registered.end()) r.registered.erase(found);
}

Status ResolveInstances(std::string_view name, std::vector<RouteInstance>* instances) {
  instances->clear();
  const std::vector<std::shared_ptr<Resolver>> chain = ResolverChain();
  for (const auto& resolver : chain) {
    Status status = resolver->Resolve(name, instances);
    if (!status.ok()) {
      instances->clear();
      return status;
    }
    if (!instances->empty()) return Status();
  }
  std::string looked;
  for (const auto& resolver : chain) looked += (looked.empty() ? "" : ", ") + resolver->Describe();
  return Status(kGetRouteFailed, "no route for " + std::string(name) + " (looked in: " + looked + ")");
}

Status GetRoute(std::string_view name, Route* route) {
  if (std::optional<Route> literal = ParseLiteral(name)) {
    *route = *literal;
    return Status();
  }
  std::vector<RouteInstance> instances;
  Status status = ResolveInstances(name, &instances);
  if (!status.ok()) return status;
  std::optional<Route> picked = CurrentBalancer()->Pick(name, instances);
  if (!picked) return Status(kGetRouteFailed, "no route for " + std::string(name));
  *route = *picked;
  return Status();
}

void UpdateRoute(std::string_view name, std::string_view address, std::uint64_t failed, std::uint64_t cost_ms) {
  if (ParseLiteral(name)) return;
  CurrentBalancer()->Update(name, address, failed, cost_ms);
}

void ReportRefused(std::string_view name, std::string_view address) {
  if (ParseLiteral(name)) return;
  CurrentBalancer()->MarkRefused(name, address);
}

}  // namespace msec
