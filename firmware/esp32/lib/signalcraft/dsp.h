// Small signal-processing helpers for the microphone and the current clamp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sc {

// The INMP441 sends 24-bit two's-complement samples MSB-aligned in 32-bit I2S
// slots (the low 8 bits are zero/undefined). shift = 16 keeps the top 16
// bits, which cannot clip; a smaller shift adds 6 dB of gain per bit (useful
// for quiet machines) and saturates instead of wrapping. Shifts above 31 are
// treated as 31. `out` must not alias `in`.
void i2s32_to_pcm16(const int32_t* in, int16_t* out, size_t n, unsigned shift);

// Running mean and AC RMS (standard deviation around the mean) using
// Welford's update, which stays accurate when the signal rides on a large
// DC offset, as the SCT-013 output does on its mid-rail bias.
class RmsAccumulator {
 public:
  void add(double x);
  void reset();
  size_t count() const { return n_; }
  double mean() const { return mean_; }
  // Population RMS of (x - mean); 0 when fewer than one sample.
  double ac_rms() const;

 private:
  size_t n_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;
};

}  // namespace sc
