// The NLB balancer on a scripted clock and random source: the same vectors,
// draws and expected weights as the TypeScript runtime's
// runtimes/ts/test/balancer.test.ts, so both runtimes give the same numbers.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "msec/balancer.h"

namespace {

/** A random source returning scripted values; records each bound it was asked for. */
struct Scripted {
  std::deque<std::uint64_t> values;
  std::vector<std::uint64_t> bounds;
  std::function<std::uint64_t(std::uint64_t)> Fn() {
    return [this](std::uint64_t n) {
      bounds.push_back(n);
      if (values.empty()) {
        std::cerr << "random source exhausted (asked for [0, " << n << "))\n";
        ++msec_test::Failures();
        return std::uint64_t{0};
      }
      const std::uint64_t v = values.front();
      values.pop_front();
      if (v >= n) {
        std::cerr << "scripted " << v << " is not below " << n << "\n";
        ++msec_test::Failures();
      }
      return v;
    };
  }
  void Push(std::initializer_list<std::uint64_t> v) { values.insert(values.end(), v); }
};

msec::RouteInstance Instance(const std::string& ip, std::uint64_t weight = 100) {
  msec::RouteInstance i;
  i.route.ip = ip;
  i.route.port = 7963;
  i.weight = weight;
  return i;
}

void Ok(msec::Balancer& b, const std::string& name, const std::string& ip, int n) {
  for (int i = 0; i < n; ++i) CHECK(b.Update(name, ip + ":7963", 0, 1));
}
void Fail(msec::Balancer& b, const std::string& name, const std::string& ip, int n) {
  for (int i = 0; i < n; ++i) CHECK(b.Update(name, ip + ":7963", 1, 0));
}

/** "A 100, B 81, C 0 dead" */
std::string Table(const msec::Balancer& b, const std::string& name) {
  std::string out;
  for (const msec::ServerWeight& w : b.Weights(name)) {
    if (!out.empty()) out += ", ";
    out += w.address.substr(0, w.address.find(':')) + " " + std::to_string(w.dynamic_weight) + (w.dead ? " dead" : "");
  }
  return out;
}

std::string Join(const std::vector<std::uint64_t>& v) {
  std::string out;
  for (std::uint64_t x : v) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

std::string PickIp(msec::Balancer& b, const std::string& name, const std::vector<msec::RouteInstance>& list) {
  const std::optional<msec::Route> r = b.Pick(name, list);
  return r ? r->ip : "(none)";
}

}  // namespace

TEST(weighted_pick_two_draws) {
  std::int64_t now = 0;
  Scripted rng;
  rng.Push({0, 99, 0, 100, 0, 399});
  msec::Balancer b({[&] { return now; }, rng.Fn(), msec::kShapingRequestMin});
  const std::vector<msec::RouteInstance> list = {Instance("10.0.0.1"), Instance("10.0.0.2", 100), Instance("10.0.0.3", 200)};
  CHECK_EQ(PickIp(b, "S.A", list), "10.0.0.1");
  CHECK_EQ(PickIp(b, "S.A", list), "10.0.0.2");
  CHECK_EQ(PickIp(b, "S.A", list), "10.0.0.3");
  CHECK_EQ(Join(rng.bounds), "400,400,400,400,400,400");
  CHECK_EQ(PickIp(b, "S.A", {}), "(none)");
}

TEST(normal_mode_decrease_death_carry_over_probe_revival_growth) {
  std::int64_t now = 0;
  Scripted rng;
  msec::Balancer b({[&] { return now; }, rng.Fn(), msec::kShapingRequestMin});
  const std::vector<msec::RouteInstance> list = {Instance("A"), Instance("B"), Instance("C", 200), Instance("D")};
  rng.Push({0, 0});
  (void)b.Pick("S.B", list);
  Ok(b, "S.B", "A", 20);
  Ok(b, "S.B", "B", 18);
  Fail(b, "S.B", "B", 2);
  Fail(b, "S.B", "C", 10);
  Fail(b, "S.B", "D", 5);  // below 10 requests: judged next period
  now = 4999;
  b.Tick("S.B");
  CHECK_EQ(Table(b, "S.B"), "A 100, B 100, C 200, D 100");
  now = 5000;
  b.Tick("S.B");
  CHECK_EQ(Table(b, "S.B"), "A 100, B 81, D 100, C 0 dead");  // 100 × 0.9² = 81; C 0 % → dead, tail

  Ok(b, "S.B", "B", 20);   // + max(1, 100 × 0.05) = 86
  Fail(b, "S.B", "D", 5);  // with the 5 carried over: 10 failures → dead
  now = 10000;
  b.Tick("S.B");
  CHECK_EQ(Table(b, "S.B"), "A 100, B 86, D 0 dead, C 0 dead");

  // Dead pool: int(186 × 0.01 + 1) = 2; one probe token (max(1, int(30 × 0.01))).
  rng.bounds.clear();
  rng.Push({187, 1});  // lands in the dead pool → second dead server
  CHECK_EQ(PickIp(b, "S.B", list), "C");
  rng.Push({186, 150});  // dead pool again but no token left → weighted pick: 150 ≥ 100 → B
  CHECK_EQ(PickIp(b, "S.B", list), "B");
  CHECK_EQ(Join(rng.bounds), "188,2,188,186");

  Ok(b, "S.B", "C", 1);  // one successful probe revives at max(1, 200 × 0.1)
  Ok(b, "S.B", "B", 10);
  now = 15000;
  b.Tick("S.B");
  CHECK_EQ(Table(b, "S.B"), "A 100, B 91, C 20, D 0 dead");
  for (int period = 4; period <= 6; ++period) {
    Ok(b, "S.B", "B", 10);
    now = period * 5000;
    b.Tick("S.B");
  }
  CHECK_EQ(Table(b, "S.B"), "A 100, B 100, C 20, D 0 dead");  // growth stops at the static weight
}

TEST(protect_mode_base_is_global_ratio_no_decrease) {
  std::int64_t now = 0;
  Scripted rng;
  rng.Push({0, 0});
  msec::Balancer b({[&] { return now; }, rng.Fn(), msec::kShapingRequestMin});
  const std::vector<msec::RouteInstance> list = {Instance("X"), Instance("Y"), Instance("Z")};
  (void)b.Pick("S.C", list);
  Fail(b, "S.C", "X", 10);
  Fail(b, "S.C", "Y", 10);
  Ok(b, "S.C", "Z", 10);
  now = 5000;
  b.Tick("S.C");
  CHECK_EQ(Table(b, "S.C"), "Z 100, X 0 dead, Y 0 dead");
  // 2 of 3 below half weight → protect; global ratio 12/20 = 0.6 is the base.
  Ok(b, "S.C", "Y", 6);
  Fail(b, "S.C", "Y", 4);
  Ok(b, "S.C", "Z", 6);
  Fail(b, "S.C", "Z", 4);
  now = 10000;
  b.Tick("S.C");
  CHECK_EQ(Table(b, "S.C"), "Z 100, Y 10, X 0 dead");  // Y revived at 60 %, Z not cut
  Ok(b, "S.C", "Z", 5);
  Fail(b, "S.C", "Z", 5);
  Ok(b, "S.C", "Y", 5);
  Fail(b, "S.C", "Y", 5);
  now = 15000;
  b.Tick("S.C");
  CHECK_EQ(Table(b, "S.C"), "Z 100, Y 15, X 0 dead");
}

TEST(per_pick_check_replaces_a_server_under_60_percent) {
  Scripted rng;
  msec::Balancer b({[] { return std::int64_t{0}; }, rng.Fn(), msec::kShapingRequestMin});
  const std::vector<msec::RouteInstance> list = {Instance("P"), Instance("Q")};
  rng.Push({0, 50});
  CHECK_EQ(PickIp(b, "S.D", list), "P");
  Ok(b, "S.D", "P", 5);
  Fail(b, "S.D", "P", 4);  // 9 requests: not judged yet
  rng.Push({0, 50});
  CHECK_EQ(PickIp(b, "S.D", list), "P");
  Fail(b, "S.D", "P", 1);  // 10 requests, 50 %
  rng.Push({0, 50, 1});
  CHECK_EQ(PickIp(b, "S.D", list), "Q");
  const std::vector<std::uint64_t> last(rng.bounds.end() - 3, rng.bounds.end());
  CHECK_EQ(Join(last), "200,200,2");
}

TEST(all_dead_random_server_unknown_updates_refused_bare_ip_matches) {
  std::int64_t now = 0;
  Scripted rng;
  rng.Push({0, 0});
  msec::Balancer b({[&] { return now; }, rng.Fn(), msec::kShapingRequestMin});
  const std::vector<msec::RouteInstance> list = {Instance("M"), Instance("N")};
  (void)b.Pick("S.E", list);
  Fail(b, "S.E", "M", 10);
  Fail(b, "S.E", "N", 10);
  now = 5000;
  b.Tick("S.E");
  CHECK_EQ(Table(b, "S.E"), "M 0 dead, N 0 dead");
  rng.Push({1});
  CHECK_EQ(PickIp(b, "S.E", list), "N");
  CHECK(!b.Update("S.Unknown", "M:7963", 1, 0));
  CHECK(!b.Update("S.E", "10.9.9.9:1", 1, 0));
  CHECK(b.Update("S.E", "M", 0, 3));  // a bare ip matches any port of that host
}

TEST(shaping_request_min_0_reproduces_msec_periodic_path) {
  std::int64_t now = 0;
  msec::Balancer b({[&] { return now; }, [](std::uint64_t) { return std::uint64_t{0}; }, 0});
  (void)b.Pick("S.F", {Instance("K"), Instance("L")});
  Fail(b, "S.F", "K", 1);
  now = 5000;
  b.Tick("S.F");
  CHECK_EQ(Table(b, "S.F"), "L 100, K 0 dead");
}

TEST(refused_server_is_dead_and_held_out_of_every_pick_for_5_s) {
  std::int64_t now = 0;
  msec::Balancer b({[&] { return now; }, [](std::uint64_t) { return std::uint64_t{0}; }, msec::kShapingRequestMin});
  const std::vector<msec::RouteInstance> list = {Instance("R"), Instance("S")};
  CHECK_EQ(PickIp(b, "S.G", list), "R");
  CHECK(b.MarkRefused("S.G", "R:7963"));
  CHECK(!b.MarkRefused("S.G", "R"));  // by ip:port only
  CHECK(!b.MarkRefused("S.Other", "R:7963"));
  CHECK_EQ(Table(b, "S.G"), "S 100, R 0 dead");
  // Every draw is 0, which picks the first alive server; R is not even a candidate while held.
  for (int i = 0; i < 5; ++i) CHECK_EQ(PickIp(b, "S.G", list), "S");
  now = 4999;
  CHECK_EQ(PickIp(b, "S.G", list), "S");
}

TEST(refused_hold_ends_then_dead_pool_probe) {
  std::int64_t now = 0;
  Scripted rng;
  msec::Balancer b({[&] { return now; }, rng.Fn(), msec::kShapingRequestMin});
  const std::vector<msec::RouteInstance> list = {Instance("R"), Instance("S")};
  rng.Push({0, 0});
  CHECK_EQ(PickIp(b, "S.H", list), "R");
  CHECK(b.MarkRefused("S.H", "R:7963"));
  rng.bounds.clear();
  rng.Push({0, 0});  // held: only S is a candidate; no dead pool (no dead candidate)
  now = 4999;
  CHECK_EQ(PickIp(b, "S.H", list), "S");
  CHECK_EQ(Join(rng.bounds), "100,100");
  rng.bounds.clear();
  rng.Push({100, 0});  // hold over: dead pool int(100 × 0.01 + 1) = 2 → probe R
  now = 5001;  // (a period passed too: R had 1 failure, < 10 requests but dead → judged: stays dead)
  CHECK_EQ(PickIp(b, "S.H", list), "R");
  CHECK_EQ(Join(rng.bounds), "102,1");
}

int main(int argc, char** argv) { return msec_test::RunAll(argc, argv); }
