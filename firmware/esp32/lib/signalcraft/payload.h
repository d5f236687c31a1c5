// Sensor readings: compact binary form for the persistent queue, and the JSON
// the server's POST /api/esp32/data and POST /api/esp32/firmware/status expect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sc {

// Metric identifiers. The numeric values are part of the on-flash queue
// format: append new metrics at the end, never renumber.
enum Metric : uint8_t {
  kTemperatureC = 0,
  kCurrentA = 1,
  kPressureBar = 2,
  kVibrationRmsG = 3,
  kHumidityPct = 4,
  kMetricCount = 5,
};

// JSON key the server uses for a metric ("temperature_c", ...).
const char* metric_name(Metric m);

struct Reading {
  uint32_t seq = 0;
  bool has_ts = false;  // false until SNTP has set the clock: "ts" is omitted
  int64_t ts_ms = 0;    // Unix epoch, milliseconds
  float values[kMetricCount];  // NaN = not measured / sensor failed

  Reading();
  // True if at least one metric is finite (a reading without one is useless
  // and the firmware does not queue it).
  bool has_any_metric() const;
};

// Encoded size is at most this: 1 flag byte + 8-byte timestamp + 4 bytes per metric.
constexpr size_t kMaxEncodedReading = 1 + 8 + 4 * kMetricCount;

// Binary form stored in the queue (the seq is stored by the queue itself).
// Layout: u8 flags (bit i = metric i present, bit 7 = has timestamp),
// [i64 ts_ms LE], then one LE IEEE-754 float per present metric in id order.
// Non-finite values are not stored. Returns bytes written, 0 if cap too small.
size_t encode_reading(const Reading& r, uint8_t* out, size_t cap);

// Inverse of encode_reading; `seq` is copied into out->seq. Rejects trailing
// bytes, truncated input and unknown flag bits.
bool decode_reading(const uint8_t* in, size_t len, uint32_t seq, Reading* out);

// Appends `s` as a JSON string literal (with quotes). Escapes quote,
// backslash and control characters; passes valid UTF-8 through unchanged and
// replaces invalid bytes with U+FFFD so the document is always valid JSON.
void append_json_string(std::string* out, const char* s);

// Appends a finite number ("%.7g": enough for a float). Returns false and
// appends nothing for NaN/Inf, which JSON cannot represent.
bool append_json_number(std::string* out, double v);

// [{"seq":N,"ts":MS,"metrics":{"temperature_c":21.5,...}}, ...]
// "ts" is omitted when has_ts is false; non-finite metrics are skipped.
std::string build_readings_json(const Reading* readings, size_t count);

enum class FirmwareState { kDownloading, kInstalled, kFailed };
const char* firmware_state_name(FirmwareState s);

// {"version":"1.2.3","state":"failed","reason":"..."}
std::string build_firmware_status_json(const char* version, FirmwareState state, const char* reason);

}  // namespace sc
