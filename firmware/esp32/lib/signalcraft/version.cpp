#include "version.h"

namespace sc {

bool parse_version(const char* s, Version* out) {
  if (s == nullptr || out == nullptr) return false;
  Version v;
  int part = 0;
  const char* p = s;
  for (;;) {
    if (part >= Version::kMaxParts) return false;
    if (*p < '0' || *p > '9') return false;  // empty component or stray char
    uint64_t value = 0;
    while (*p >= '0' && *p <= '9') {
      value = value * 10 + uint64_t(*p - '0');
      if (value > 0xFFFFFFFFu) return false;
      ++p;
    }
    v.parts[part++] = uint32_t(value);
    if (*p == '\0') break;
    if (*p != '.') return false;
    ++p;  // the next iteration rejects a trailing or doubled dot
  }
  *out = v;
  return true;
}

bool compare_versions(const char* a, const char* b, int* result) {
  Version va, vb;
  if (!parse_version(a, &va) || !parse_version(b, &vb) || result == nullptr) return false;
  for (int i = 0; i < Version::kMaxParts; ++i) {
    if (va.parts[i] != vb.parts[i]) {
      *result = va.parts[i] < vb.parts[i] ? -1 : 1;
      return true;
    }
  }
  *result = 0;
  return true;
}

bool is_newer_version(const char* candidate, const char* current) {
  int cmp = 0;
  return compare_versions(candidate, current, &cmp) && cmp > 0;
}

}  // namespace sc
