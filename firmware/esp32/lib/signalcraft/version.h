// Numeric dotted version strings ("1.2.10"), as used for firmware versions.
//
// Grammar: 1 to 4 components of decimal digits separated by single dots, each
// fitting in 32 bits. Missing trailing components count as 0, so "1.2" equals
// "1.2.0". Anything else (empty, "1..2", "1.2.", "v1.2", "1.2-rc1", " 1.2")
// is malformed: we would rather refuse an update than guess an ordering.
#pragma once

#include <cstdint>

namespace sc {

struct Version {
  static constexpr int kMaxParts = 4;
  uint32_t parts[kMaxParts] = {0, 0, 0, 0};
};

// Parses `s` into `out`. Returns false if malformed (out is then unspecified).
bool parse_version(const char* s, Version* out);

// Three-way comparison of two version strings: sets *result to -1, 0 or 1
// (a < b, a == b, a > b). Returns false if either string is malformed.
bool compare_versions(const char* a, const char* b, int* result);

// True only if both parse and `candidate` is strictly newer than `current`.
bool is_newer_version(const char* candidate, const char* current);

}  // namespace sc
