#include "test_framework.h"
#include "version.h"

namespace {

int cmp(const char* a, const char* b) {
  int r = 99;
  if (!sc::compare_versions(a, b, &r)) return 99;  // 99 = error
  return r;
}

}  // namespace

TEST(version_numeric_not_lexicographic) {
  CHECK_EQ(cmp("1.2.10", "1.2.9"), 1);
  CHECK_EQ(cmp("1.2.9", "1.2.10"), -1);
  CHECK_EQ(cmp("1.10.0", "1.9.99"), 1);
  CHECK_EQ(cmp("2.0.0", "10.0.0"), -1);
}

TEST(version_missing_components_are_zero) {
  CHECK_EQ(cmp("1.2.0", "1.2"), 0);
  CHECK_EQ(cmp("1.2", "1.2.0.0"), 0);
  CHECK_EQ(cmp("1", "1.0.0"), 0);
  CHECK_EQ(cmp("1.2.0.1", "1.2"), 1);
  CHECK_EQ(cmp("0.9", "1"), -1);
  CHECK_EQ(cmp("01.2", "1.2"), 0);  // leading zeros are just digits
}

TEST(version_total_order_on_a_list) {
  const char* ordered[] = {"0.0.1", "0.1", "0.1.1", "0.9.0", "1", "1.0.1", "1.2.9", "1.2.10", "1.10", "2.0.0.1"};
  const int n = sizeof(ordered) / sizeof(ordered[0]);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      const int expected = i < j ? -1 : (i > j ? 1 : 0);
      if (cmp(ordered[i], ordered[j]) != expected) {
        std::fprintf(stderr, "  %s vs %s\n", ordered[i], ordered[j]);
        CHECK_EQ(cmp(ordered[i], ordered[j]), expected);
      }
    }
  }
}

TEST(version_malformed_is_an_error) {
  const char* bad[] = {"", ".", "1.", ".1", "1..2", "v1.2", "1.2-rc1", "1.2 ", " 1.2", "1.a", "1.2.3.4.5",
                       "4294967296", "1.-2", "+1", "1,2"};
  for (const char* b : bad) {
    if (cmp(b, "1.0") != 99 || cmp("1.0", b) != 99) {
      std::fprintf(stderr, "  accepted malformed '%s'\n", b);
      CHECK(false);
    }
  }
  CHECK_EQ(cmp(nullptr, "1"), 99);
  sc::Version v;
  CHECK(sc::parse_version("4294967295.0.1", &v));
  CHECK_EQ(v.parts[0], uint32_t(4294967295u));
  CHECK_EQ(v.parts[2], uint32_t(1));
}

TEST(version_is_newer) {
  CHECK(sc::is_newer_version("1.2.10", "1.2.9"));
  CHECK(!sc::is_newer_version("1.2.9", "1.2.10"));
  CHECK(!sc::is_newer_version("1.2", "1.2.0"));
  CHECK(!sc::is_newer_version("garbage", "1.0"));
  CHECK(!sc::is_newer_version("2.0", "garbage"));
}
