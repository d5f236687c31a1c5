#include "payload.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace sc {
namespace {

constexpr uint8_t kFlagHasTs = 0x80;
constexpr uint8_t kMetricMask = (1u << kMetricCount) - 1;

void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint32_t get_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

// Length of the valid UTF-8 sequence starting at p (n bytes available), or 0
// if invalid. Rejects overlong forms, surrogates and code points > U+10FFFF.
size_t utf8_sequence_length(const unsigned char* p, size_t n) {
  const unsigned char c = p[0];
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;  // no surrogates
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

}  // namespace

const char* metric_name(Metric m) {
  switch (m) {
    case kTemperatureC: return "temperature_c";
    case kCurrentA: return "current_a";
    case kPressureBar: return "pressure_bar";
    case kVibrationRmsG: return "vibration_rms_g";
    case kHumidityPct: return "humidity_pct";
    default: return "unknown";
  }
}

Reading::Reading() {
  for (float& v : values) v = std::numeric_limits<float>::quiet_NaN();
}

bool Reading::has_any_metric() const {
  for (float v : values) {
    if (std::isfinite(v)) return true;
  }
  return false;
}

size_t encode_reading(const Reading& r, uint8_t* out, size_t cap) {
  uint8_t flags = r.has_ts ? kFlagHasTs : 0;
  size_t need = 1 + (r.has_ts ? 8 : 0);
  for (int i = 0; i < kMetricCount; ++i) {
    if (std::isfinite(r.values[i])) {
      flags |= uint8_t(1u << i);
      need += 4;
    }
  }
  if (out == nullptr || cap < need) return 0;

  size_t pos = 0;
  out[pos++] = flags;
  if (r.has_ts) {
    const uint64_t ts = uint64_t(r.ts_ms);
    put_le32(out + pos, uint32_t(ts));
    put_le32(out + pos + 4, uint32_t(ts >> 32));
    pos += 8;
  }
  for (int i = 0; i < kMetricCount; ++i) {
    if (!(flags & (1u << i))) continue;
    uint32_t bits;
    static_assert(sizeof(bits) == sizeof(float), "float must be 32-bit");
    std::memcpy(&bits, &r.values[i], sizeof(bits));
    put_le32(out + pos, bits);
    pos += 4;
  }
  return pos;
}

bool decode_reading(const uint8_t* in, size_t len, uint32_t seq, Reading* out) {
  if (in == nullptr || out == nullptr || len < 1) return false;
  const uint8_t flags = in[0];
  if (flags & ~(kFlagHasTs | kMetricMask)) return false;

  Reading r;
  r.seq = seq;
  size_t pos = 1;
  if (flags & kFlagHasTs) {
    if (len < pos + 8) return false;
    const uint64_t ts = uint64_t(get_le32(in + pos)) | (uint64_t(get_le32(in + pos + 4)) << 32);
    r.has_ts = true;
    r.ts_ms = int64_t(ts);
    pos += 8;
  }
  for (int i = 0; i < kMetricCount; ++i) {
    if (!(flags & (1u << i))) continue;
    if (len < pos + 4) return false;
    const uint32_t bits = get_le32(in + pos);
    std::memcpy(&r.values[i], &bits, sizeof(bits));
    pos += 4;
  }
  if (pos != len) return false;
  *out = r;
  return true;
}

void append_json_string(std::string* out, const char* s) {
  out->push_back('"');
  if (s != nullptr) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(s);
    size_t n = std::strlen(s);
    while (n > 0) {
      const unsigned char c = *p;
      switch (c) {
        case '"': out->append("\\\""); break;
        case '\\': out->append("\\\\"); break;
        case '\b': out->append("\\b"); break;
        case '\f': out->append("\\f"); break;
        case '\n': out->append("\\n"); break;
        case '\r': out->append("\\r"); break;
        case '\t': out->append("\\t"); break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", unsigned(c));
            out->append(buf);
          } else if (c < 0x80) {
            out->push_back(char(c));
          } else {
            const size_t seq_len = utf8_sequence_length(p, n);
            if (seq_len == 0) {
              out->append("\\ufffd");  // invalid byte: replace, resync on the next
            } else {
              out->append(reinterpret_cast<const char*>(p), seq_len);
              p += seq_len - 1;
              n -= seq_len - 1;
            }
          }
      }
      ++p;
      --n;
    }
  }
  out->push_back('"');
}

bool append_json_number(std::string* out, double v) {
  if (!std::isfinite(v)) return false;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.7g", v);
  out->append(buf);
  return true;
}

std::string build_readings_json(const Reading* readings, size_t count) {
  std::string out;
  out.reserve(16 + count * 96);
  out.push_back('[');
  for (size_t i = 0; i < count; ++i) {
    const Reading& r = readings[i];
    if (i > 0) out.push_back(',');
    char buf[48];
    // PRIu32/PRId64: uint32_t is `unsigned long` on the ESP32 toolchain.
    std::snprintf(buf, sizeof(buf), "{\"seq\":%" PRIu32, r.seq);
    out.append(buf);
    if (r.has_ts) {
      std::snprintf(buf, sizeof(buf), ",\"ts\":%" PRId64, r.ts_ms);
      out.append(buf);
    }
    out.append(",\"metrics\":{");
    bool first = true;
    for (int m = 0; m < kMetricCount; ++m) {
      if (!std::isfinite(r.values[m])) continue;
      if (!first) out.push_back(',');
      first = false;
      append_json_string(&out, metric_name(Metric(m)));
      out.push_back(':');
      append_json_number(&out, double(r.values[m]));
    }
    out.append("}}");
  }
  out.push_back(']');
  return out;
}

const char* firmware_state_name(FirmwareState s) {
  switch (s) {
    case FirmwareState::kDownloading: return "downloading";
    case FirmwareState::kInstalled: return "installed";
    case FirmwareState::kFailed: return "failed";
  }
  return "failed";
}

std::string build_firmware_status_json(const char* version, FirmwareState state, const char* reason) {
  std::string out = "{\"version\":";
  append_json_string(&out, version != nullptr ? version : "");
  out.append(",\"state\":");
  append_json_string(&out, firmware_state_name(state));
  out.append(",\"reason\":");
  append_json_string(&out, reason != nullptr ? reason : "");
  out.push_back('}');
  return out;
}

}  // namespace sc
