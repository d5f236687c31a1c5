#include "ota.h"

#include <cstring>

#include "sha256.h"
#include "version.h"

namespace sc {
namespace {

bool is_empty(const char* s) { return s == nullptr || *s == '\0'; }
bool equals(const char* a, const char* b) { return !is_empty(a) && !is_empty(b) && std::strcmp(a, b) == 0; }

bool parse_u64(const char** p, uint64_t* out) {
  const char* s = *p;
  if (*s < '0' || *s > '9') return false;
  uint64_t v = 0;
  while (*s >= '0' && *s <= '9') {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + uint64_t(*s - '0');
    ++s;
  }
  *p = s;
  *out = v;
  return true;
}

void set_reason(std::string* reason, const std::string& text) {
  if (reason != nullptr) *reason = text;
}

}  // namespace

OtaVerdict evaluate_manifest(const OtaManifest& m, const char* running_version, const OtaHistory& history,
                             uint32_t max_attempts, uint32_t max_image_size, std::string* reason) {
  Version parsed;
  if (!parse_version(m.version.c_str(), &parsed)) {
    set_reason(reason, "malformed version '" + m.version + "'");
    return OtaVerdict::kReject;
  }
  int cmp = 0;
  if (!compare_versions(m.version.c_str(), running_version, &cmp)) {
    set_reason(reason, "running version is malformed");
    return OtaVerdict::kReject;
  }
  // Only ever move forward. A deliberate downgrade is published as a new,
  // higher version; this also stops a replayed old manifest re-installing a
  // firmware with known bugs.
  if (cmp <= 0) {
    set_reason(reason, "not newer than running " + std::string(running_version));
    return OtaVerdict::kSkip;
  }
  if (m.size == 0 || m.size > max_image_size) {
    set_reason(reason, "image size " + std::to_string(m.size) + " outside 1.." + std::to_string(max_image_size));
    return OtaVerdict::kReject;
  }
  if (!is_sha256_hex(m.sha256.c_str())) {
    set_reason(reason, "sha256 is not 64 hex digits");
    return OtaVerdict::kReject;
  }
  if (m.url.empty()) {
    set_reason(reason, "missing url");
    return OtaVerdict::kReject;
  }
  if (m.version == history.failed_version && history.failed_attempts >= max_attempts) {
    set_reason(reason, "rolled back " + std::to_string(history.failed_attempts) + " times already");
    return OtaVerdict::kSkip;
  }
  set_reason(reason, "");
  return OtaVerdict::kInstall;
}

BootAction decide_boot_action(const char* pending_version, const char* previous_version,
                              const char* running_version, bool running_pending_verify) {
  // The bootloader has this image on probation: whatever our record says, it
  // must check in or it will be rolled back.
  if (running_pending_verify) return BootAction::kConfirmNewImage;
  if (is_empty(pending_version)) return BootAction::kNone;
  // Booted the new image but the bootloader is not tracking it (rollback
  // disabled in this bootloader build): still report it installed.
  if (equals(pending_version, running_version)) return BootAction::kConfirmNewImage;
  if (equals(previous_version, running_version)) return BootAction::kReportRollback;
  return BootAction::kClearStale;
}

bool parse_content_range(const char* value, uint64_t* first, uint64_t* last, int64_t* total) {
  if (value == nullptr || std::strncmp(value, "bytes ", 6) != 0) return false;
  const char* p = value + 6;
  uint64_t f, l;
  if (!parse_u64(&p, &f) || *p++ != '-' || !parse_u64(&p, &l) || *p++ != '/') return false;
  int64_t t;
  if (*p == '*') {
    t = -1;
    ++p;
  } else {
    uint64_t tu;
    if (!parse_u64(&p, &tu) || tu > uint64_t(INT64_MAX)) return false;
    t = int64_t(tu);
    if (l >= tu) return false;
  }
  if (*p != '\0' || l < f) return false;
  *first = f;
  *last = l;
  *total = t;
  return true;
}

RangeAction check_range_response(int status, const char* content_range, uint32_t offset, uint32_t total,
                                 uint32_t* skip_bytes, std::string* reason) {
  *skip_bytes = 0;
  if (status <= 0 || status == 408 || status == 429 || status >= 500) {
    set_reason(reason, "transient: " + std::to_string(status));
    return RangeAction::kRetry;
  }
  if (status == 200) {
    // Full body from byte 0. Fine for a fresh download; after an
    // interruption the server evidently ignored Range, so skip what we have.
    *skip_bytes = offset;
    return offset == 0 ? RangeAction::kAppend : RangeAction::kSkipPrefix;
  }
  if (status == 206) {
    uint64_t first, last;
    int64_t size;
    if (!parse_content_range(content_range, &first, &last, &size)) {
      set_reason(reason, "206 without a valid Content-Range");
      return RangeAction::kFail;
    }
    if (first != offset) {
      set_reason(reason, "Content-Range starts at " + std::to_string(first) + ", asked for " + std::to_string(offset));
      return RangeAction::kFail;
    }
    if (size >= 0 && uint64_t(size) != total) {
      set_reason(reason, "image size changed on the server");
      return RangeAction::kFail;
    }
    if (last >= total) {
      set_reason(reason, "Content-Range beyond the image size");
      return RangeAction::kFail;
    }
    return RangeAction::kAppend;
  }
  set_reason(reason, "HTTP " + std::to_string(status));
  return RangeAction::kFail;
}

}  // namespace sc
