#include "backoff.h"

namespace sc {

Backoff::Backoff(uint32_t base_ms, uint32_t cap_ms, RandomSource& rng)
    : base_ms_(base_ms), cap_ms_(cap_ms < base_ms ? base_ms : cap_ms), rng_(rng) {}

uint32_t Backoff::ceiling_ms(uint32_t attempt) const {
  if (base_ms_ == 0) return 0;
  // base << attempt overflows or exceeds the cap: the cap wins.
  if (attempt >= 32 || base_ms_ > (cap_ms_ >> attempt)) return cap_ms_;
  return base_ms_ << attempt;
}

uint32_t Backoff::next_delay_ms() {
  const uint32_t ceiling = ceiling_ms(attempt_);
  if (attempt_ < 0xFFFFFFFFu) ++attempt_;
  // Map a 32-bit random value onto [0, ceiling] by multiply-shift: exact at
  // both ends (0 -> 0, 0xFFFFFFFF -> ceiling) and without modulo bias.
  const uint64_t r = rng_.next_u32();
  return uint32_t((r * (uint64_t(ceiling) + 1)) >> 32);
}

uint32_t Backoff::next_delay_ms(uint32_t retry_after_ms) {
  const uint32_t jittered = next_delay_ms();
  const uint32_t floor = retry_after_ms > kMaxRetryAfterMs ? kMaxRetryAfterMs : retry_after_ms;
  return jittered > floor ? jittered : floor;
}

}  // namespace sc
