// Exponential backoff with "full jitter":
//   delay = uniform(0, min(cap, base * 2^attempt))
// Full jitter spreads a fleet of devices out after a shared outage (server
// restart, site Wi-Fi down) so they do not all retry in lock-step.
#pragma once

#include <cstdint>

namespace sc {

// Source of uniformly distributed 32-bit values. The firmware wraps
// esp_random(); tests plug in fixed sequences to make delays deterministic.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint32_t next_u32() = 0;
};

class Backoff {
 public:
  // A server-supplied Retry-After is honoured up to this bound, so one bad
  // header cannot park a device for days.
  static constexpr uint32_t kMaxRetryAfterMs = 60u * 60u * 1000u;

  Backoff(uint32_t base_ms, uint32_t cap_ms, RandomSource& rng);

  // Delay before the next retry; advances the attempt counter.
  uint32_t next_delay_ms();

  // Same, but never shorter than `retry_after_ms` (clamped to
  // kMaxRetryAfterMs). Pass 0 when the server gave no Retry-After.
  uint32_t next_delay_ms(uint32_t retry_after_ms);

  // Call after a success.
  void reset() { attempt_ = 0; }

  uint32_t attempts() const { return attempt_; }

  // Upper bound of the jitter window for a given attempt: min(cap, base*2^n),
  // computed without overflow.
  uint32_t ceiling_ms(uint32_t attempt) const;

 private:
  uint32_t base_ms_;
  uint32_t cap_ms_;
  uint32_t attempt_ = 0;
  RandomSource& rng_;
};

}  // namespace sc
