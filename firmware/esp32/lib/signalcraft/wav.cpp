#include "wav.h"

#include <cstring>

namespace sc {
namespace {

void put_le16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}

void put_le32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}

}  // namespace

bool wav_header_pcm16_mono(uint32_t sample_rate, uint32_t num_samples, uint8_t out[kWavHeaderSize]) {
  constexpr uint16_t kChannels = 1;
  constexpr uint16_t kBitsPerSample = 16;
  constexpr uint16_t kBlockAlign = kChannels * kBitsPerSample / 8;

  if (sample_rate == 0 || num_samples > kWavMaxSamples) return false;
  // byte_rate must fit too (only matters for absurd sample rates).
  if (sample_rate > 0xFFFFFFFFu / kBlockAlign) return false;

  const uint32_t data_bytes = num_samples * kBlockAlign;

  std::memcpy(out + 0, "RIFF", 4);
  put_le32(out + 4, 36u + data_bytes);  // size of everything after this field
  std::memcpy(out + 8, "WAVE", 4);

  std::memcpy(out + 12, "fmt ", 4);
  put_le32(out + 16, 16);  // fmt chunk size for plain PCM
  put_le16(out + 20, 1);   // WAVE_FORMAT_PCM
  put_le16(out + 22, kChannels);
  put_le32(out + 24, sample_rate);
  put_le32(out + 28, sample_rate * kBlockAlign);  // byte rate
  put_le16(out + 32, kBlockAlign);
  put_le16(out + 34, kBitsPerSample);

  std::memcpy(out + 36, "data", 4);
  put_le32(out + 40, data_bytes);
  return true;
}

}  // namespace sc
