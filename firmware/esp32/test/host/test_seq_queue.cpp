#include <cstring>
#include <vector>

#include "memory_storage.h"
#include "seq_queue.h"
#include "test_framework.h"

namespace {

constexpr uint8_t kReading = 1;
constexpr uint8_t kClip = 2;

uint32_t push_byte(sc::SeqQueue& q, uint8_t kind, uint8_t payload) {
  const auto r = q.push(kind, &payload, 1);
  return r.ok ? r.seq : 0;
}

// Seqs of the queue from oldest to newest.
std::vector<uint32_t> seqs(const sc::SeqQueue& q) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < q.size(); ++i) out.push_back(q.at(i)->seq);
  return out;
}

bool same_items(const sc::SeqQueue& a, const sc::SeqQueue& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto* x = a.at(i);
    const auto* y = b.at(i);
    if (x->seq != y->seq || x->kind != y->kind || x->len != y->len || std::memcmp(x->data, y->data, x->len) != 0)
      return false;
  }
  return true;
}

}  // namespace

TEST(queue_push_assigns_increasing_seqs_and_peeks_oldest) {
  sc::SeqQueue q(8);
  CHECK(q.empty());
  CHECK(q.peek_oldest() == nullptr);
  CHECK_EQ(push_byte(q, kReading, 0xA0), uint32_t(1));
  CHECK_EQ(push_byte(q, kReading, 0xA1), uint32_t(2));
  CHECK_EQ(push_byte(q, kClip, 0xA2), uint32_t(3));
  CHECK_EQ(q.size(), size_t(3));
  CHECK_EQ(q.peek_oldest()->seq, uint32_t(1));
  CHECK_EQ(int(q.peek_oldest()->data[0]), 0xA0);
  CHECK_EQ(q.next_seq(), uint32_t(4));
}

TEST(queue_ack_removes_exactly_that_seq_keeping_order) {
  sc::SeqQueue q(8);
  for (int i = 0; i < 6; ++i) push_byte(q, kReading, uint8_t(i));
  CHECK(q.ack(1));                 // oldest
  CHECK(q.ack(4));                 // middle
  CHECK(q.ack(6));                 // newest
  CHECK(!q.ack(4));                // already gone
  CHECK(!q.ack(100));              // never existed
  CHECK(seqs(q) == (std::vector<uint32_t>{2, 3, 5}));
  CHECK_EQ(int(q.at(2)->data[0]), 4);  // payload moved with its seq
  CHECK_EQ(q.dropped(), uint32_t(0));
  // New items continue the sequence; acked numbers are never reused.
  CHECK_EQ(push_byte(q, kReading, 9), uint32_t(7));
  CHECK(seqs(q) == (std::vector<uint32_t>{2, 3, 5, 7}));
}

TEST(queue_overflow_drops_oldest_and_counts) {
  sc::SeqQueue q(3);
  push_byte(q, kReading, 1);
  push_byte(q, kClip, 2);
  push_byte(q, kReading, 3);
  const auto r = q.push(kReading, nullptr, 0);
  CHECK(r.ok);
  CHECK_EQ(r.seq, uint32_t(4));
  CHECK(r.evicted);
  CHECK_EQ(r.evicted_item.seq, uint32_t(1));
  const auto r2 = q.push(kReading, nullptr, 0);
  CHECK(r2.evicted);
  CHECK_EQ(r2.evicted_item.seq, uint32_t(2));
  CHECK_EQ(int(r2.evicted_item.kind), int(kClip));  // caller deletes the clip file
  CHECK_EQ(q.size(), size_t(3));
  CHECK_EQ(q.dropped(), uint32_t(2));
  CHECK(seqs(q) == (std::vector<uint32_t>{3, 4, 5}));

  // Wrap-around of the ring with acks in between keeps FIFO order.
  CHECK(q.ack(4));
  push_byte(q, kReading, 6);
  push_byte(q, kReading, 7);
  CHECK(seqs(q) == (std::vector<uint32_t>{5, 6, 7}));
  CHECK_EQ(q.dropped(), uint32_t(3));
  CHECK(q.ack(5) && q.ack(6) && q.ack(7));
  CHECK(q.empty());
}

TEST(queue_discard_counts_as_dropped) {
  sc::SeqQueue q(4);
  push_byte(q, kReading, 1);
  push_byte(q, kReading, 2);
  CHECK(q.discard(2));
  CHECK(!q.discard(2));
  CHECK_EQ(q.dropped(), uint32_t(1));
  CHECK(seqs(q) == (std::vector<uint32_t>{1}));
}

TEST(queue_kind_queries) {
  sc::SeqQueue q(8);
  push_byte(q, kReading, 1);
  push_byte(q, kClip, 2);
  push_byte(q, kReading, 3);
  push_byte(q, kClip, 4);
  CHECK_EQ(q.count_of_kind(kClip), size_t(2));
  CHECK_EQ(q.count_of_kind(kReading), size_t(2));
  CHECK_EQ(q.oldest_of_kind(kClip)->seq, uint32_t(2));
  CHECK(q.ack(2));
  CHECK_EQ(q.oldest_of_kind(kClip)->seq, uint32_t(4));
  CHECK(q.oldest_of_kind(7) == nullptr);
}

TEST(queue_rejects_oversized_items) {
  sc::SeqQueue q(4);
  uint8_t big[sc::SeqQueue::kMaxData + 1] = {};
  CHECK(!q.push(kReading, big, sizeof(big)).ok);
  CHECK(q.push(kReading, big, sc::SeqQueue::kMaxData).ok);
  CHECK_EQ(q.next_seq(), uint32_t(2));  // the failed push consumed no seq
  sc::SeqQueue none(0);
  CHECK(!none.push(kReading, big, 1).ok);
}

TEST(queue_serialize_roundtrip_exact) {
  sc::SeqQueue q(8, 100);
  const uint8_t payload[3] = {0xDE, 0xAD, 0xBE};
  q.push(kReading, payload, 3);
  q.push(kClip, nullptr, 0);
  q.push(kReading, payload, 2);
  q.ack(2);
  q.discard(1);
  const std::vector<uint8_t> blob = q.serialize();

  // Header: magic, floor = next_seq (4) + reserve (100), dropped 1, count 1.
  const uint8_t header[16] = {'S', 'C', 'Q', '1', 104, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
  CHECK_EQ(blob.size(), size_t(16 + 6 + 2 + 4));
  CHECK(std::memcmp(blob.data(), header, 16) == 0);
  const uint8_t item[8] = {3, 0, 0, 0, kReading, 2, 0xDE, 0xAD};
  CHECK(std::memcmp(blob.data() + 16, item, 8) == 0);
  const uint32_t crc = sc::crc32(blob.data(), blob.size() - 4);
  CHECK_EQ(uint32_t(blob[24] | blob[25] << 8 | blob[26] << 16 | uint32_t(blob[27]) << 24), crc);

  sc::SeqQueue r(8, 100);
  CHECK(r.parse(blob.data(), blob.size()));
  CHECK(same_items(q, r));
  CHECK_EQ(r.dropped(), uint32_t(1));
  CHECK_EQ(r.next_seq(), uint32_t(104));  // resumes at the persisted floor
}

TEST(queue_crc32_known_value) {
  const char* s = "123456789";
  CHECK_EQ(sc::crc32(reinterpret_cast<const uint8_t*>(s), 9), uint32_t(0xCBF43926u));
}

TEST(queue_parse_rejects_corruption_and_leaves_state) {
  sc::SeqQueue q(8);
  for (int i = 0; i < 5; ++i) push_byte(q, kReading, uint8_t(i));
  const std::vector<uint8_t> good = q.serialize();

  sc::SeqQueue target(8);
  push_byte(target, kClip, 0x77);
  // Every single-bit flip anywhere must be detected.
  bool all_detected = true;
  for (size_t i = 0; i < good.size() && all_detected; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = good;
      bad[i] ^= uint8_t(1u << bit);
      if (target.parse(bad.data(), bad.size())) {
        std::fprintf(stderr, "  accepted flip of bit %d in byte %zu\n", bit, i);
        all_detected = false;
        break;
      }
    }
  }
  CHECK(all_detected);
  CHECK(!target.parse(good.data(), good.size() - 1));  // truncated
  CHECK(!target.parse(good.data(), 3));
  CHECK(!target.parse(nullptr, 0));
  // Target untouched by all the failures.
  CHECK(seqs(target) == (std::vector<uint32_t>{1}));
  CHECK_EQ(int(target.at(0)->kind), int(kClip));
}

TEST(queue_parse_rejects_semantically_invalid_blob_with_valid_crc) {
  // Hand-built blob whose seqs are not increasing, with a correct CRC.
  std::vector<uint8_t> b = {'S', 'C', 'Q', '1', 100, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
                            5, 0, 0, 0, kReading, 0,  //
                            5, 0, 0, 0, kReading, 0};
  const uint32_t crc = sc::crc32(b.data(), b.size());
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(crc >> (8 * i)));
  sc::SeqQueue q(8);
  CHECK(!q.parse(b.data(), b.size()));

  // Same, but a seq at/above the stored floor (could collide after reboot).
  std::vector<uint8_t> c = {'S', 'C', 'Q', '1', 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, kReading, 0};
  const uint32_t crc2 = sc::crc32(c.data(), c.size());
  for (int i = 0; i < 4; ++i) c.push_back(uint8_t(crc2 >> (8 * i)));
  CHECK(!q.parse(c.data(), c.size()));
}

TEST(queue_parse_into_smaller_capacity_keeps_newest) {
  sc::SeqQueue big(10);
  for (int i = 0; i < 6; ++i) push_byte(big, kReading, uint8_t(i));
  const auto blob = big.serialize();
  sc::SeqQueue small(4);
  CHECK(small.parse(blob.data(), blob.size()));
  CHECK(seqs(small) == (std::vector<uint32_t>{3, 4, 5, 6}));
  CHECK_EQ(small.dropped(), uint32_t(2));
  CHECK(small.needs_save());
}

TEST(queue_survives_reboot_via_storage_without_seq_reuse) {
  MemoryStorage storage;
  uint32_t last_sent = 0;
  {
    sc::SeqQueue q(16, 10);
    CHECK(q.load(storage, "q") == sc::SeqQueue::LoadResult::kMissing);
    for (int i = 0; i < 3; ++i) push_byte(q, kReading, uint8_t(i));
    CHECK(q.seq_floor_persist_needed());  // nothing durable yet: must save before sending
    CHECK(q.save(storage, "q"));
    CHECK(!q.seq_floor_persist_needed());
    CHECK_EQ(q.durable_floor(), uint32_t(14));
    // Keep going within the reserved block without saving; send them all.
    for (int i = 0; i < 5; ++i) push_byte(q, kReading, uint8_t(10 + i));
    CHECK(!q.seq_floor_persist_needed());
    last_sent = q.at(q.size() - 1)->seq;
    CHECK_EQ(last_sent, uint32_t(8));
    // ... power cut here: items 4..8 were sent but the file still holds 1..3.
  }
  sc::SeqQueue after(16, 10);
  CHECK(after.load(storage, "q") == sc::SeqQueue::LoadResult::kLoaded);
  CHECK(seqs(after) == (std::vector<uint32_t>{1, 2, 3}));
  const uint32_t next = push_byte(after, kReading, 0);
  CHECK(next > last_sent);
  CHECK_EQ(next, uint32_t(14));
}

TEST(queue_floor_persist_needed_when_block_exhausted) {
  MemoryStorage storage;
  sc::SeqQueue q(64, 4);
  push_byte(q, kReading, 0);
  CHECK(q.save(storage, "q"));  // floor = 2 + 4 = 6
  for (int i = 0; i < 4; ++i) push_byte(q, kReading, 0);  // seqs 2..5
  CHECK(!q.seq_floor_persist_needed());
  push_byte(q, kReading, 0);  // seq 6 == floor: not covered
  CHECK(q.seq_floor_persist_needed());
  CHECK(q.needs_save());
  storage.fail_writes = true;
  CHECK(!q.save(storage, "q"));
  CHECK(q.seq_floor_persist_needed());  // a failed write changes nothing
  storage.fail_writes = false;
  CHECK(q.save(storage, "q"));
  CHECK(!q.seq_floor_persist_needed());
}

TEST(queue_needs_save_skips_idle_empty_rewrites) {
  MemoryStorage storage;
  sc::SeqQueue q(16, 1000);
  push_byte(q, kReading, 0);
  CHECK(q.save(storage, "q"));  // saved with one item
  CHECK(!q.needs_save());
  CHECK(q.ack(1));
  CHECK(q.needs_save());  // saved copy still holds an item: rewrite it empty
  CHECK(q.save(storage, "q"));
  // Online steady state: push and deliver within a cycle -> no flash write.
  push_byte(q, kReading, 0);
  CHECK(q.ack(2));
  CHECK(!q.needs_save());
  // Offline: backlog builds up -> must be saved.
  push_byte(q, kReading, 0);
  CHECK(q.needs_save());
}

TEST(queue_raise_next_seq_never_lowers) {
  sc::SeqQueue q(4);
  q.raise_next_seq(500);
  CHECK_EQ(push_byte(q, kReading, 0), uint32_t(500));
  q.raise_next_seq(10);
  CHECK_EQ(push_byte(q, kReading, 0), uint32_t(501));
}

TEST(queue_load_reports_corrupt_file) {
  MemoryStorage storage;
  storage.blobs["q"] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  sc::SeqQueue q(4);
  CHECK(q.load(storage, "q") == sc::SeqQueue::LoadResult::kCorrupt);
  CHECK(q.empty());
}
