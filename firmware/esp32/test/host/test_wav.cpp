#include <cstring>

#include "test_framework.h"
#include "wav.h"

// 5 s at 16 kHz, the clip the firmware records: 80000 samples = 160000 data
// bytes (0x00027100), RIFF size 160036 (0x00027124).
TEST(wav_header_exact_bytes_16k_5s) {
  uint8_t h[sc::kWavHeaderSize];
  CHECK(sc::wav_header_pcm16_mono(16000, 80000, h));
  const uint8_t expected[44] = {
      'R', 'I', 'F', 'F', 0x24, 0x71, 0x02, 0x00,  // "RIFF", 36 + data bytes
      'W', 'A', 'V', 'E',                          //
      'f', 'm', 't', ' ', 0x10, 0x00, 0x00, 0x00,  // "fmt ", chunk size 16
      0x01, 0x00,                                  // PCM
      0x01, 0x00,                                  // mono
      0x80, 0x3E, 0x00, 0x00,                      // 16000 Hz
      0x00, 0x7D, 0x00, 0x00,                      // 32000 bytes/s
      0x02, 0x00,                                  // block align
      0x10, 0x00,                                  // 16 bits
      'd', 'a', 't', 'a', 0x00, 0x71, 0x02, 0x00,  // "data", 160000 bytes
  };
  for (size_t i = 0; i < sizeof(expected); ++i) {
    if (h[i] != expected[i]) {
      std::fprintf(stderr, "  byte %zu: got 0x%02x want 0x%02x\n", i, h[i], expected[i]);
      CHECK_EQ(int(h[i]), int(expected[i]));
    }
  }
}

TEST(wav_header_other_rate_and_empty_clip) {
  uint8_t h[sc::kWavHeaderSize];
  CHECK(sc::wav_header_pcm16_mono(44100, 0, h));
  const uint8_t riff_size[4] = {36, 0, 0, 0};
  const uint8_t rate[4] = {0x44, 0xAC, 0x00, 0x00};       // 44100
  const uint8_t byte_rate[4] = {0x88, 0x58, 0x01, 0x00};  // 88200
  const uint8_t data_size[4] = {0, 0, 0, 0};
  CHECK(std::memcmp(h + 4, riff_size, 4) == 0);
  CHECK(std::memcmp(h + 24, rate, 4) == 0);
  CHECK(std::memcmp(h + 28, byte_rate, 4) == 0);
  CHECK(std::memcmp(h + 40, data_size, 4) == 0);
}

TEST(wav_header_rejects_overflow_and_zero_rate) {
  uint8_t h[sc::kWavHeaderSize];
  std::memset(h, 0xAA, sizeof(h));
  CHECK(!sc::wav_header_pcm16_mono(0, 100, h));
  CHECK(!sc::wav_header_pcm16_mono(16000, sc::kWavMaxSamples + 1, h));
  CHECK_EQ(int(h[0]), 0xAA);  // untouched on failure

  // The largest allowed clip still has a RIFF size that fits exactly.
  CHECK(sc::wav_header_pcm16_mono(16000, sc::kWavMaxSamples, h));
  const uint32_t riff = uint32_t(h[4]) | uint32_t(h[5]) << 8 | uint32_t(h[6]) << 16 | uint32_t(h[7]) << 24;
  CHECK_EQ(riff, uint32_t(36u + 2u * sc::kWavMaxSamples));
  CHECK(riff >= 0xFFFFFFFEu);
}
