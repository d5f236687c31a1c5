#include "ota.h"
#include "test_framework.h"

namespace {

sc::OtaManifest good_manifest() {
  sc::OtaManifest m;
  m.version = "1.3.0";
  m.size = 1200000;
  m.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  m.url = "/api/esp32/firmware/download/1.3.0";
  return m;
}

constexpr uint32_t kSlot = 0x170000;

}  // namespace

TEST(ota_manifest_install_when_newer_and_valid) {
  std::string reason = "x";
  CHECK(sc::evaluate_manifest(good_manifest(), "1.2.9", {}, 2, kSlot, &reason) == sc::OtaVerdict::kInstall);
  CHECK_EQ(reason, std::string(""));
}

TEST(ota_manifest_skips_same_or_older) {
  std::string reason;
  CHECK(sc::evaluate_manifest(good_manifest(), "1.3", {}, 2, kSlot, &reason) == sc::OtaVerdict::kSkip);
  CHECK(sc::evaluate_manifest(good_manifest(), "1.10.0", {}, 2, kSlot, &reason) == sc::OtaVerdict::kSkip);
}

TEST(ota_manifest_rejects_bad_fields) {
  std::string reason;
  auto m = good_manifest();
  m.version = "1.3.0-beta";
  CHECK(sc::evaluate_manifest(m, "1.2", {}, 2, kSlot, &reason) == sc::OtaVerdict::kReject);
  CHECK(reason.find("malformed") != std::string::npos);

  m = good_manifest();
  m.size = 0;
  CHECK(sc::evaluate_manifest(m, "1.2", {}, 2, kSlot, &reason) == sc::OtaVerdict::kReject);
  m.size = kSlot + 1;  // would not fit the OTA slot
  CHECK(sc::evaluate_manifest(m, "1.2", {}, 2, kSlot, &reason) == sc::OtaVerdict::kReject);
  m.size = kSlot;
  CHECK(sc::evaluate_manifest(m, "1.2", {}, 2, kSlot, &reason) == sc::OtaVerdict::kInstall);

  m = good_manifest();
  m.sha256 = "abc";
  CHECK(sc::evaluate_manifest(m, "1.2", {}, 2, kSlot, &reason) == sc::OtaVerdict::kReject);
  m = good_manifest();
  m.url = "";
  CHECK(sc::evaluate_manifest(m, "1.2", {}, 2, kSlot, &reason) == sc::OtaVerdict::kReject);
}

TEST(ota_manifest_gives_up_on_a_version_after_max_rollbacks) {
  std::string reason;
  sc::OtaHistory h;
  h.failed_version = "1.3.0";
  h.failed_attempts = 1;
  CHECK(sc::evaluate_manifest(good_manifest(), "1.2", h, 2, kSlot, &reason) == sc::OtaVerdict::kInstall);
  h.failed_attempts = 2;
  CHECK(sc::evaluate_manifest(good_manifest(), "1.2", h, 2, kSlot, &reason) == sc::OtaVerdict::kSkip);
  CHECK(reason.find("rolled back") != std::string::npos);
  // A different (fixed) version is tried right away.
  auto m = good_manifest();
  m.version = "1.3.1";
  CHECK(sc::evaluate_manifest(m, "1.2", h, 2, kSlot, &reason) == sc::OtaVerdict::kInstall);
}

TEST(ota_boot_action) {
  using sc::BootAction;
  // Bootloader has us on probation: always check in, record or not.
  CHECK(sc::decide_boot_action("1.3", "1.2", "1.3", true) == BootAction::kConfirmNewImage);
  CHECK(sc::decide_boot_action("", "", "1.3", true) == BootAction::kConfirmNewImage);
  // No record, normal boot.
  CHECK(sc::decide_boot_action("", "", "1.2", false) == BootAction::kNone);
  CHECK(sc::decide_boot_action(nullptr, nullptr, "1.2", false) == BootAction::kNone);
  // New image running, bootloader without rollback support.
  CHECK(sc::decide_boot_action("1.3", "1.2", "1.3", false) == BootAction::kConfirmNewImage);
  // Old image running again: the new one was rolled back.
  CHECK(sc::decide_boot_action("1.3", "1.2", "1.2", false) == BootAction::kReportRollback);
  // Record from some other history (e.g. reflashed over USB).
  CHECK(sc::decide_boot_action("1.3", "1.2", "1.5", false) == BootAction::kClearStale);
}

TEST(ota_parse_content_range) {
  uint64_t f = 0, l = 0;
  int64_t t = 0;
  CHECK(sc::parse_content_range("bytes 100-199/1000", &f, &l, &t));
  CHECK_EQ(f, uint64_t(100));
  CHECK_EQ(l, uint64_t(199));
  CHECK_EQ(t, int64_t(1000));
  CHECK(sc::parse_content_range("bytes 0-0/*", &f, &l, &t));
  CHECK_EQ(t, int64_t(-1));
  CHECK(!sc::parse_content_range("bytes 100-199/150", &f, &l, &t));  // last beyond total
  CHECK(!sc::parse_content_range("bytes 200-100/1000", &f, &l, &t));
  CHECK(!sc::parse_content_range("bytes */1000", &f, &l, &t));
  CHECK(!sc::parse_content_range("items 1-2/3", &f, &l, &t));
  CHECK(!sc::parse_content_range("bytes 1-2/3x", &f, &l, &t));
  CHECK(!sc::parse_content_range(nullptr, &f, &l, &t));
}

TEST(ota_range_response_handling) {
  using sc::RangeAction;
  uint32_t skip = 99;
  std::string reason;
  // Fresh download.
  CHECK(sc::check_range_response(200, nullptr, 0, 1000, &skip, &reason) == RangeAction::kAppend);
  CHECK_EQ(skip, uint32_t(0));
  // Proper resume.
  CHECK(sc::check_range_response(206, "bytes 400-999/1000", 400, 1000, &skip, &reason) == RangeAction::kAppend);
  CHECK_EQ(skip, uint32_t(0));
  CHECK(sc::check_range_response(206, "bytes 400-999/*", 400, 1000, &skip, &reason) == RangeAction::kAppend);
  // Server ignored Range and sent everything: skip what we already have.
  CHECK(sc::check_range_response(200, nullptr, 400, 1000, &skip, &reason) == RangeAction::kSkipPrefix);
  CHECK_EQ(skip, uint32_t(400));
  // Wrong start, size changed, missing header, not satisfiable.
  CHECK(sc::check_range_response(206, "bytes 0-999/1000", 400, 1000, &skip, &reason) == RangeAction::kFail);
  CHECK(sc::check_range_response(206, "bytes 400-1999/2000", 400, 1000, &skip, &reason) == RangeAction::kFail);
  CHECK(sc::check_range_response(206, nullptr, 400, 1000, &skip, &reason) == RangeAction::kFail);
  CHECK(sc::check_range_response(416, nullptr, 400, 1000, &skip, &reason) == RangeAction::kFail);
  CHECK(sc::check_range_response(404, nullptr, 0, 1000, &skip, &reason) == RangeAction::kFail);
  CHECK_EQ(reason, std::string("HTTP 404"));
  // Transient.
  CHECK(sc::check_range_response(-3, nullptr, 400, 1000, &skip, &reason) == RangeAction::kRetry);
  CHECK(sc::check_range_response(503, nullptr, 400, 1000, &skip, &reason) == RangeAction::kRetry);
  CHECK(sc::check_range_response(429, nullptr, 0, 1000, &skip, &reason) == RangeAction::kRetry);
}
