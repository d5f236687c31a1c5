// Minimal unit-test harness (no third-party framework is available offline).
//
//   TEST(name) { CHECK(cond); CHECK_EQ(actual, expected); }
//
// A test case passes if none of its checks failed. The runner prints every
// failed check and ends with "N passed, M failed"; exit status is non-zero
// if anything failed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace t {

struct Case {
  const char* name;
  void (*fn)();
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;  // function-local: safe across TUs' static init
  return cases;
}

struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

inline int& current_failures() {
  static int n = 0;
  return n;
}

inline void fail(const char* file, int line, const char* expr, const std::string& detail) {
  ++current_failures();
  std::fprintf(stderr, "  %s:%d: CHECK failed: %s%s%s\n", file, line, expr, detail.empty() ? "" : "\n      ",
               detail.c_str());
}

template <typename T>
std::string describe(const T& v) {
  using D = std::decay_t<T>;
  std::ostringstream os;
  if constexpr (std::is_same_v<D, bool>) {
    os << (v ? "true" : "false");
  } else if constexpr (std::is_enum_v<D>) {
    os << "enum(" << static_cast<long long>(v) << ")";
  } else if constexpr (std::is_integral_v<D> && std::is_signed_v<D>) {
    os << static_cast<long long>(v);  // int8_t would otherwise print as a char
  } else if constexpr (std::is_integral_v<D>) {
    os << static_cast<unsigned long long>(v);
  } else if constexpr (std::is_floating_point_v<D>) {
    os.precision(17);
    os << v;
  } else if constexpr (std::is_convertible_v<D, std::string>) {
    os << '"' << std::string(v) << '"';
  } else {
    os << "<value>";
  }
  return os.str();
}

}  // namespace t

#define TEST(name)                                             \
  static void name();                                          \
  static const ::t::Registrar name##_registrar(#name, &name);  \
  static void name()

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) ::t::fail(__FILE__, __LINE__, #cond, std::string()); \
  } while (0)

#define CHECK_EQ(actual, expected)                                                                    \
  do {                                                                                                \
    const auto& check_a_ = (actual);                                                                  \
    const auto& check_e_ = (expected);                                                                \
    if (!(check_a_ == check_e_))                                                                      \
      ::t::fail(__FILE__, __LINE__, #actual " == " #expected,                                         \
                "actual:   " + ::t::describe(check_a_) + "\n      expected: " + ::t::describe(check_e_)); \
  } while (0)
