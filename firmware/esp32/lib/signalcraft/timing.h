// millis()-based scheduling that survives the 32-bit wrap (every 49.7 days;
// compressor monitors run for years).
#pragma once

#include <cstdint>

namespace sc {

// True once `now` has reached `deadline`, correct across the wrap as long as
// the two are less than ~24.8 days apart.
inline bool time_reached(uint32_t now, uint32_t deadline) { return int32_t(now - deadline) >= 0; }

// Next deadline of a periodic task. Normally deadline + period (no drift);
// if we are already a whole period late (a long upload or clip recording
// blocked the loop), restart from now instead of firing a burst of
// catch-up runs.
inline uint32_t next_deadline(uint32_t deadline, uint32_t period, uint32_t now) {
  const uint32_t next = deadline + period;
  return time_reached(now, next) ? now + period : next;
}

}  // namespace sc
