// A minimal test harness for the runtime's ctest programs: named test
// functions, CHECK / CHECK_EQ that record failures with file:line and go on,
// and a main that runs every test (or the ones named on the command line) and
// exits 1 when any check failed.
#ifndef MSEC_TESTS_CHECK_H_
#define MSEC_TESTS_CHECK_H_

#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace msec_test {

inline std::vector<std::pair<std::string, std::function<void()>>>& Tests() {
  static std::vector<std::pair<std::string, std::function<void()>>> tests;
  return tests;
}
inline int& Failures() {
  static int failures = 0;
  return failures;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { Tests().emplace_back(name, std::move(fn)); }
};

template <typename A, typename B>
void CheckEq(const A& a, const B& b, const char* as, const char* bs, const char* file, int line) {
  if (a == b) return;
  std::ostringstream out;
  out << file << ":" << line << ": CHECK_EQ(" << as << ", " << bs << ") failed: " << a << " != " << b;
  std::cerr << out.str() << "\n";
  ++Failures();
}

inline int RunAll(int argc, char** argv) {
  for (auto& [name, fn] : Tests()) {
    bool selected = argc <= 1;
    for (int i = 1; i < argc; ++i) selected = selected || name == argv[i];
    if (!selected) continue;
    const int before = Failures();
    fn();
    std::cout << (Failures() == before ? "ok   " : "FAIL ") << name << "\n";
  }
  std::cout << (Failures() == 0 ? "all passed" : std::to_string(Failures()) + " checks failed") << "\n";
  return Failures() == 0 ? 0 : 1;
}

}  // namespace msec_test

#define MSEC_CONCAT2(a, b) a##b
#define MSEC_CONCAT(a, b) MSEC_CONCAT2(a, b)
#define TEST(name)                                                                     \
  static void name();                                                                  \
  static ::msec_test::Register MSEC_CONCAT(register_, name)(#name, name);              \
  static void name()
#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK(" #cond ") failed\n";       \
      ++::msec_test::Failures();                                                       \
    }                                                                                  \
  } while (0)
#define CHECK_EQ(a, b) ::msec_test::CheckEq((a), (b), #a, #b, __FILE__, __LINE__)

#endif  // MSEC_TESTS_CHECK_H_
