// Canonical 44-byte RIFF/WAVE header for 16-bit mono PCM.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sc {

constexpr size_t kWavHeaderSize = 44;

// Largest sample count whose RIFF chunk size (36 + 2 * samples) fits in 32 bits.
constexpr uint32_t kWavMaxSamples = (0xFFFFFFFFu - 36u) / 2u;

// Fills `out` with the header for `num_samples` 16-bit mono samples at
// `sample_rate` Hz. All fields little-endian as RIFF requires. Returns false
// (leaving `out` untouched) if sample_rate is 0 or the sizes would overflow
// the 32-bit RIFF fields.
bool wav_header_pcm16_mono(uint32_t sample_rate, uint32_t num_samples, uint8_t out[kWavHeaderSize]);

}  // namespace sc
