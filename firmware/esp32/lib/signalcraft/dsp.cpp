#include "dsp.h"

#include <cmath>

namespace sc {

void i2s32_to_pcm16(const int32_t* in, int16_t* out, size_t n, unsigned shift) {
  if (shift > 31) shift = 31;
  for (size_t i = 0; i < n; ++i) {
    // Arithmetic shift of a signed value (two's complement on every target).
    int32_t v = in[i] >> shift;
    if (v > INT16_MAX) v = INT16_MAX;
    if (v < INT16_MIN) v = INT16_MIN;
    out[i] = int16_t(v);
  }
}

void RmsAccumulator::add(double x) {
  ++n_;
  const double delta = x - mean_;
  mean_ += delta / double(n_);
  m2_ += delta * (x - mean_);
}

void RmsAccumulator::reset() {
  n_ = 0;
  mean_ = 0.0;
  m2_ = 0.0;
}

double RmsAccumulator::ac_rms() const {
  if (n_ == 0) return 0.0;
  const double var = m2_ / double(n_);
  return var > 0.0 ? std::sqrt(var) : 0.0;
}

}  // namespace sc
