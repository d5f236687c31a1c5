// Decisions taken by the OTA updater that do not need hardware: whether to
// install what the server offers, what to do at boot after an update, and
// how to continue an interrupted download with an HTTP Range request.
#pragma once

#include <cstdint>
#include <string>

namespace sc {

// Body of a 200 from GET /api/esp32/firmware.
struct OtaManifest {
  std::string version;
  uint32_t size = 0;
  std::string sha256;  // hex
  std::string url;
};

enum class OtaVerdict {
  kInstall,
  kSkip,    // nothing wrong, just not for us now (not newer, given up on it)
  kReject,  // the manifest itself is unusable: report "failed"
};

// A version that rolled back is retried at most `max_attempts` times, so one
// failed trial (say the site Wi-Fi was down while the new image was on
// probation) does not block it forever, while a genuinely broken image does
// not cause a download-reboot-rollback loop.
struct OtaHistory {
  std::string failed_version;  // last version that was rolled back, "" if none
  uint32_t failed_attempts = 0;
};

OtaVerdict evaluate_manifest(const OtaManifest& m, const char* running_version, const OtaHistory& history,
                             uint32_t max_attempts, uint32_t max_image_size, std::string* reason);

// What the firmware must do at boot, given the OTA record it wrote before
// rebooting into a new image (pending_version/previous_version, "" if none)
// and what the bootloader reports about the running image.
enum class BootAction {
  kNone,
  kConfirmNewImage,  // report "installed", then cancel the rollback
  kReportRollback,   // we are the old image again: report "failed"
  kClearStale,       // record matches neither image (e.g. USB flash): drop it
};

BootAction decide_boot_action(const char* pending_version, const char* previous_version,
                              const char* running_version, bool running_pending_verify);

// Parses "bytes FIRST-LAST/TOTAL" (TOTAL may be "*", reported as -1).
bool parse_content_range(const char* value, uint64_t* first, uint64_t* last, int64_t* total);

enum class RangeAction {
  kAppend,      // body continues exactly at `offset`
  kSkipPrefix,  // server ignored Range: discard the first *skip_bytes bytes
  kRetry,       // transient (transport error, 408, 429, 5xx)
  kFail,        // give up this update attempt
};

// Checks the response to a GET that asked for bytes `offset`.. of a `total`
// byte image (no Range header is sent when offset is 0).
RangeAction check_range_response(int status, const char* content_range, uint32_t offset, uint32_t total,
                                 uint32_t* skip_bytes, std::string* reason);

}  // namespace sc
