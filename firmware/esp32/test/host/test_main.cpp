// Runs every registered test case. Optional argument: a substring to select
// test cases by name.
#include <cstring>

#include "test_framework.h"

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0;
  int failed = 0;
  for (const t::Case& c : t::registry()) {
    if (filter != nullptr && std::strstr(c.name, filter) == nullptr) continue;
    t::current_failures() = 0;
    c.fn();
    if (t::current_failures() == 0) {
      ++passed;
    } else {
      ++failed;
      std::fprintf(stderr, "FAIL %s\n", c.name);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return (failed == 0 && passed > 0) ? 0 : 1;
}
