#include <cmath>

#include "dsp.h"
#include "test_framework.h"
#include "timing.h"

TEST(dsp_i2s32_to_pcm16_takes_top_bits) {
  // 24-bit samples MSB-aligned in 32-bit slots, low byte garbage.
  const int32_t in[] = {0x7FFFFF00, int32_t(0x80000000), 0x12345678, -0x12345678, 0x0000FFFF, -1, 0};
  int16_t out[7];
  sc::i2s32_to_pcm16(in, out, 7, 16);
  CHECK_EQ(out[0], int16_t(32767));
  CHECK_EQ(out[1], int16_t(-32768));
  CHECK_EQ(out[2], int16_t(0x1234));
  CHECK_EQ(out[3], int16_t(-0x1235));  // arithmetic shift rounds toward -inf
  CHECK_EQ(out[4], int16_t(0));
  CHECK_EQ(out[5], int16_t(-1));
  CHECK_EQ(out[6], int16_t(0));
}

TEST(dsp_i2s32_to_pcm16_gain_saturates) {
  const int32_t in[] = {0x00100000, 0x20000000, -0x20000000, -0x00100000};
  int16_t out[4];
  sc::i2s32_to_pcm16(in, out, 4, 14);  // +12 dB
  CHECK_EQ(out[0], int16_t(0x40));
  CHECK_EQ(out[1], int16_t(32767));   // 0x8000 would wrap to -32768 without saturation
  CHECK_EQ(out[2], int16_t(-32768));
  CHECK_EQ(out[3], int16_t(-0x40));
  sc::i2s32_to_pcm16(in, out, 1, 99);  // clamped to 31
  CHECK_EQ(out[0], int16_t(0));
}

TEST(dsp_rms_of_constant_and_square_wave) {
  sc::RmsAccumulator acc;
  CHECK_EQ(acc.ac_rms(), 0.0);
  for (int i = 0; i < 1000; ++i) acc.add(1650.0);  // bias only, no current
  CHECK_EQ(acc.mean(), 1650.0);
  CHECK(acc.ac_rms() < 1e-9);

  acc.reset();
  for (int i = 0; i < 1000; ++i) acc.add(i % 2 ? 1650.0 + 200.0 : 1650.0 - 200.0);
  CHECK(std::fabs(acc.ac_rms() - 200.0) < 1e-9);
  CHECK(std::fabs(acc.mean() - 1650.0) < 1e-9);
  CHECK_EQ(acc.count(), size_t(1000));
}

TEST(dsp_rms_of_sine_on_large_offset) {
  // 50 Hz sine, 100 mV amplitude on a 1.65 V bias, 10 whole cycles.
  sc::RmsAccumulator acc;
  const double kPi = 3.14159265358979323846;
  const int n = 2000;
  for (int i = 0; i < n; ++i) acc.add(1650.0 + 100.0 * std::sin(2 * kPi * 10.0 * i / n));
  CHECK(std::fabs(acc.ac_rms() - 100.0 / std::sqrt(2.0)) < 1e-6);
}

TEST(timing_deadlines_across_millis_wrap) {
  CHECK(sc::time_reached(1000, 1000));
  CHECK(sc::time_reached(1001, 1000));
  CHECK(!sc::time_reached(999, 1000));
  // Deadline just after the wrap, now just before it: not yet.
  CHECK(!sc::time_reached(0xFFFFFF00u, 0x00000010u));
  CHECK(sc::time_reached(0x00000010u, 0xFFFFFF00u));
  CHECK(sc::time_reached(0x00000020u, 0x00000010u));

  // Periodic schedule: no drift normally, no burst after a long stall.
  CHECK_EQ(sc::next_deadline(5000, 5000, 5003), uint32_t(10000));
  CHECK_EQ(sc::next_deadline(5000, 5000, 27000), uint32_t(32000));
  CHECK_EQ(sc::next_deadline(0xFFFFF000u, 0x2000u, 0xFFFFF100u), uint32_t(0x1000u));
}
