#include <cmath>
#include <cstring>
#include <limits>

#include "payload.h"
#include "test_framework.h"

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

std::string json_str(const char* s) {
  std::string out;
  sc::append_json_string(&out, s);
  return out;
}

}  // namespace

TEST(payload_single_reading_exact_json) {
  sc::Reading r;
  r.seq = 42;
  r.has_ts = true;
  r.ts_ms = 1700000000123LL;
  r.values[sc::kTemperatureC] = 21.5f;
  r.values[sc::kCurrentA] = 3.25f;
  CHECK_EQ(sc::build_readings_json(&r, 1),
           std::string("[{\"seq\":42,\"ts\":1700000000123,\"metrics\":{\"temperature_c\":21.5,\"current_a\":3.25}}]"));
}

TEST(payload_ts_omitted_when_clock_not_set) {
  sc::Reading r;
  r.seq = 7;
  r.has_ts = false;
  r.ts_ms = 1234;  // ignored
  r.values[sc::kCurrentA] = 0.0f;
  CHECK_EQ(sc::build_readings_json(&r, 1), std::string("[{\"seq\":7,\"metrics\":{\"current_a\":0}}]"));
}

TEST(payload_non_finite_metrics_are_skipped) {
  sc::Reading r;
  r.seq = 1;
  r.values[sc::kTemperatureC] = kNaN;
  r.values[sc::kCurrentA] = kInf;
  r.values[sc::kPressureBar] = -kInf;
  r.values[sc::kVibrationRmsG] = 0.125f;
  r.values[sc::kHumidityPct] = 55.0f;
  const std::string json = sc::build_readings_json(&r, 1);
  CHECK_EQ(json, std::string("[{\"seq\":1,\"metrics\":{\"vibration_rms_g\":0.125,\"humidity_pct\":55}}]"));
  CHECK(json.find("nan") == std::string::npos);
  CHECK(json.find("inf") == std::string::npos);

  sc::Reading none;
  none.seq = 2;
  CHECK(!none.has_any_metric());
  CHECK(r.has_any_metric());
  CHECK_EQ(sc::build_readings_json(&none, 1), std::string("[{\"seq\":2,\"metrics\":{}}]"));
}

TEST(payload_batch_order_and_number_formatting) {
  sc::Reading rs[3];
  rs[0].seq = 10;
  rs[0].values[sc::kTemperatureC] = -5.75f;
  rs[1].seq = 11;
  rs[1].has_ts = true;
  rs[1].ts_ms = 0;  // epoch itself is still a timestamp
  rs[1].values[sc::kPressureBar] = 0.1f;  // float noise must not leak into JSON
  rs[2].seq = 4294967295u;
  rs[2].values[sc::kCurrentA] = 123456.7f;
  rs[2].values[sc::kHumidityPct] = 1e-5f;
  CHECK_EQ(sc::build_readings_json(rs, 3),
           std::string("[{\"seq\":10,\"metrics\":{\"temperature_c\":-5.75}},"
                       "{\"seq\":11,\"ts\":0,\"metrics\":{\"pressure_bar\":0.1}},"
                       "{\"seq\":4294967295,\"metrics\":{\"current_a\":123456.7,\"humidity_pct\":1e-05}}]"));
  CHECK_EQ(sc::build_readings_json(rs, 0), std::string("[]"));
}

TEST(payload_json_number_rejects_non_finite) {
  std::string out = "x";
  CHECK(!sc::append_json_number(&out, std::nan("")));
  CHECK(!sc::append_json_number(&out, HUGE_VAL));
  CHECK_EQ(out, std::string("x"));
  CHECK(sc::append_json_number(&out, 2.0));
  CHECK_EQ(out, std::string("x2"));
}

TEST(payload_json_string_escaping) {
  CHECK_EQ(json_str("plain"), std::string("\"plain\""));
  CHECK_EQ(json_str("a\"b\\c/d"), std::string("\"a\\\"b\\\\c/d\""));
  CHECK_EQ(json_str("l1\nl2\r\t\b\f"), std::string("\"l1\\nl2\\r\\t\\b\\f\""));
  CHECK_EQ(json_str("\x01\x1f\x7f"), std::string("\"\\u0001\\u001f\x7f\""));
  CHECK_EQ(json_str(""), std::string("\"\""));
  CHECK_EQ(json_str(nullptr), std::string("\"\""));
}

TEST(payload_json_string_utf8_handling) {
  // Valid multi-byte sequences pass through: e-acute, euro sign, emoji.
  CHECK_EQ(json_str("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xA7"),
           std::string("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xA7\""));
  // Invalid bytes become U+FFFD and decoding resynchronises.
  CHECK_EQ(json_str("a\xFF" "b"), std::string("\"a\\ufffdb\""));
  CHECK_EQ(json_str("\xC3"), std::string("\"\\ufffd\""));                 // truncated
  CHECK_EQ(json_str("\xC0\xAF"), std::string("\"\\ufffd\\ufffd\""));      // overlong '/'
  CHECK_EQ(json_str("\xED\xA0\x80"), std::string("\"\\ufffd\\ufffd\\ufffd\""));  // surrogate
  CHECK_EQ(json_str("\xF4\x90\x80\x80"), std::string("\"\\ufffd\\ufffd\\ufffd\\ufffd\""));  // > U+10FFFF
}

TEST(payload_firmware_status_json) {
  CHECK_EQ(sc::build_firmware_status_json("1.2.3", sc::FirmwareState::kDownloading, ""),
           std::string("{\"version\":\"1.2.3\",\"state\":\"downloading\",\"reason\":\"\"}"));
  CHECK_EQ(sc::build_firmware_status_json("1.2.4", sc::FirmwareState::kInstalled, nullptr),
           std::string("{\"version\":\"1.2.4\",\"state\":\"installed\",\"reason\":\"\"}"));
  CHECK_EQ(sc::build_firmware_status_json("1.3", sc::FirmwareState::kFailed, "sha256 mismatch: \"abc\"\nretry"),
           std::string("{\"version\":\"1.3\",\"state\":\"failed\",\"reason\":\"sha256 mismatch: \\\"abc\\\"\\nretry\"}"));
}

TEST(payload_encode_decode_roundtrip) {
  sc::Reading r;
  r.has_ts = true;
  r.ts_ms = -1;  // exercise all 64 bits
  r.values[sc::kTemperatureC] = 21.37f;
  r.values[sc::kHumidityPct] = -0.0f;
  r.values[sc::kCurrentA] = kNaN;  // not stored
  uint8_t buf[sc::kMaxEncodedReading];
  const size_t n = sc::encode_reading(r, buf, sizeof(buf));
  CHECK_EQ(n, size_t(1 + 8 + 4 + 4));
  CHECK_EQ(int(buf[0]), 0x80 | 0x01 | 0x10);

  sc::Reading back;
  CHECK(sc::decode_reading(buf, n, 99, &back));
  CHECK_EQ(back.seq, uint32_t(99));
  CHECK(back.has_ts);
  CHECK_EQ(back.ts_ms, int64_t(-1));
  CHECK_EQ(back.values[sc::kTemperatureC], 21.37f);
  CHECK(std::signbit(back.values[sc::kHumidityPct]));
  CHECK(std::isnan(back.values[sc::kCurrentA]));
  CHECK(std::isnan(back.values[sc::kPressureBar]));

  // Exact little-endian layout of a small reading: 1.0f = 0x3F800000.
  sc::Reading one;
  one.values[sc::kCurrentA] = 1.0f;
  CHECK_EQ(sc::encode_reading(one, buf, sizeof(buf)), size_t(5));
  const uint8_t expected[5] = {0x02, 0x00, 0x00, 0x80, 0x3F};
  CHECK(std::memcmp(buf, expected, 5) == 0);
}

TEST(payload_encode_fits_queue_and_decode_rejects_garbage) {
  sc::Reading full;
  full.has_ts = true;
  for (float& v : full.values) v = 1.0f;
  uint8_t buf[64];
  CHECK_EQ(sc::encode_reading(full, buf, sizeof(buf)), sc::kMaxEncodedReading);
  CHECK_EQ(sc::encode_reading(full, buf, sc::kMaxEncodedReading - 1), size_t(0));  // cap too small

  sc::Reading out;
  const size_t n = sc::kMaxEncodedReading;
  CHECK(sc::decode_reading(buf, n, 1, &out));
  CHECK(!sc::decode_reading(buf, n - 1, 1, &out));  // truncated
  buf[n] = 0;
  CHECK(!sc::decode_reading(buf, n + 1, 1, &out));  // trailing byte
  const uint8_t unknown_flag[1] = {0x40};
  CHECK(!sc::decode_reading(unknown_flag, 1, 1, &out));
  CHECK(!sc::decode_reading(buf, 0, 1, &out));
}

TEST(payload_optional_sensor_metrics_use_the_server_names) {
  sc::Reading r;
  r.seq = 9;
  r.values[sc::kPressureBar] = 7.75f;
  r.values[sc::kVibrationRmsG] = 0.1875f;
  r.values[sc::kHumidityPct] = 61.5f;
  CHECK_EQ(sc::build_readings_json(&r, 1),
           std::string("[{\"seq\":9,\"metrics\":{\"pressure_bar\":7.75,\"vibration_rms_g\":0.1875,"
                       "\"humidity_pct\":61.5}}]"));
}
