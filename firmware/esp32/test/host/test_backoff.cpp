#include <vector>

#include "backoff.h"
#include "test_framework.h"

namespace {

class FixedRandom : public sc::RandomSource {
 public:
  explicit FixedRandom(uint32_t v) : v_(v) {}
  uint32_t next_u32() override { return v_; }
  uint32_t v_;
};

class SequenceRandom : public sc::RandomSource {
 public:
  explicit SequenceRandom(std::vector<uint32_t> seq) : seq_(std::move(seq)) {}
  uint32_t next_u32() override { return seq_[i_++ % seq_.size()]; }
  std::vector<uint32_t> seq_;
  size_t i_ = 0;
};

}  // namespace

TEST(backoff_ceiling_doubles_then_caps) {
  FixedRandom rng(0);
  sc::Backoff b(1000, 60000, rng);
  CHECK_EQ(b.ceiling_ms(0), uint32_t(1000));
  CHECK_EQ(b.ceiling_ms(1), uint32_t(2000));
  CHECK_EQ(b.ceiling_ms(5), uint32_t(32000));
  CHECK_EQ(b.ceiling_ms(6), uint32_t(60000));  // 64000 capped
  CHECK_EQ(b.ceiling_ms(31), uint32_t(60000));
  CHECK_EQ(b.ceiling_ms(32), uint32_t(60000));  // no shift overflow
  CHECK_EQ(b.ceiling_ms(1000), uint32_t(60000));
}

TEST(backoff_max_random_hits_ceiling_exactly) {
  FixedRandom rng(0xFFFFFFFFu);
  sc::Backoff b(1000, 60000, rng);
  const uint32_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (uint32_t e : expected) CHECK_EQ(b.next_delay_ms(), e);
  CHECK_EQ(b.attempts(), uint32_t(9));
}

TEST(backoff_zero_random_gives_zero_and_midpoint_is_half) {
  FixedRandom zero(0);
  sc::Backoff b0(1000, 60000, zero);
  for (int i = 0; i < 10; ++i) CHECK_EQ(b0.next_delay_ms(), uint32_t(0));

  FixedRandom half(0x80000000u);
  sc::Backoff bh(1000, 60000, half);
  CHECK_EQ(bh.next_delay_ms(), uint32_t(500));   // floor(0.5 * 1001)
  CHECK_EQ(bh.next_delay_ms(), uint32_t(1000));  // floor(0.5 * 2001)
}

TEST(backoff_delays_stay_within_bounds) {
  SequenceRandom rng({0u, 1u, 0x12345678u, 0x7FFFFFFFu, 0xDEADBEEFu, 0xFFFFFFFEu, 0xFFFFFFFFu});
  sc::Backoff b(500, 30000, rng);
  for (uint32_t attempt = 0; attempt < 200; ++attempt) {
    const uint32_t ceiling = b.ceiling_ms(attempt);
    const uint32_t d = b.next_delay_ms();
    if (d > ceiling) {
      CHECK(d <= ceiling);
      return;
    }
  }
  CHECK_EQ(b.attempts(), uint32_t(200));
}

TEST(backoff_reset_starts_over) {
  FixedRandom rng(0xFFFFFFFFu);
  sc::Backoff b(1000, 60000, rng);
  b.next_delay_ms();
  b.next_delay_ms();
  b.next_delay_ms();
  CHECK_EQ(b.next_delay_ms(), uint32_t(8000));
  b.reset();
  CHECK_EQ(b.attempts(), uint32_t(0));
  CHECK_EQ(b.next_delay_ms(), uint32_t(1000));
}

TEST(backoff_retry_after_is_a_floor_and_is_clamped) {
  FixedRandom rng(0);
  sc::Backoff b(1000, 60000, rng);
  CHECK_EQ(b.next_delay_ms(0), uint32_t(0));
  CHECK_EQ(b.next_delay_ms(120000), uint32_t(120000));  // above the cap: still honoured
  CHECK_EQ(b.next_delay_ms(0xFFFFFFFFu), sc::Backoff::kMaxRetryAfterMs);

  FixedRandom max(0xFFFFFFFFu);
  sc::Backoff bm(1000, 60000, max);
  CHECK_EQ(bm.next_delay_ms(10), uint32_t(1000));  // jitter larger than Retry-After wins
}

TEST(backoff_cap_below_base_is_treated_as_base) {
  FixedRandom rng(0xFFFFFFFFu);
  sc::Backoff b(5000, 100, rng);
  CHECK_EQ(b.next_delay_ms(), uint32_t(5000));
  CHECK_EQ(b.next_delay_ms(), uint32_t(5000));
}
