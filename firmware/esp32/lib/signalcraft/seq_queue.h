// Bounded FIFO of pending uploads, each tagged with a sequence number.
//
// Sequence numbers are what make retries safe: the server acknowledges a
// repeated seq without storing it twice. That only works if a seq is never
// reused for different data, including across reboots, so the queue hands
// them out itself and persists a *floor*: every seq ever handed out is below
// the persisted floor. Saving reserves a block ahead (floor = next + block),
// so the floor only needs rewriting once per block, not on every reading,
// which keeps flash wear down. After a reboot numbering resumes at the floor;
// the skipped numbers are harmless gaps.
//
// Storage format (little-endian):
//   "SCQ1" | u32 seq_floor | u32 dropped | u32 count |
//   count * (u32 seq | u8 kind | u8 len | len bytes) | u32 crc32(all before)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "storage.h"

namespace sc {

class SeqQueue {
 public:
  static constexpr size_t kMaxData = 30;  // enough for an encoded Reading
  static constexpr uint32_t kFirstSeq = 1;

  struct Item {
    uint32_t seq;
    uint8_t kind;  // caller-defined (reading, clip, ...)
    uint8_t len;
    uint8_t data[kMaxData];
  };

  struct PushResult {
    bool ok = false;
    uint32_t seq = 0;
    bool evicted = false;  // the oldest item was dropped to make room
    Item evicted_item{};   // valid if evicted (e.g. to delete a clip file)
  };

  enum class LoadResult { kLoaded, kMissing, kCorrupt };

  explicit SeqQueue(size_t capacity, uint32_t seq_reserve = 1000);

  // Appends an item with the next sequence number. When full, the oldest
  // item is evicted and counted in dropped(). Fails (ok=false) if len >
  // kMaxData, capacity is 0, or the 32-bit seq space is exhausted.
  PushResult push(uint8_t kind, const uint8_t* data, size_t len);

  const Item* peek_oldest() const { return at(0); }
  // i-th oldest item, nullptr if out of range.
  const Item* at(size_t i) const;
  const Item* oldest_of_kind(uint8_t kind) const;
  size_t count_of_kind(uint8_t kind) const;

  // Removes the item with this seq (delivered). False if not present.
  bool ack(uint32_t seq);
  // Removes the item and counts it as dropped (it can never be delivered).
  bool discard(uint32_t seq);

  size_t size() const { return size_; }
  size_t capacity() const { return items_.size(); }
  bool empty() const { return size_ == 0; }
  uint32_t dropped() const { return dropped_; }
  uint32_t next_seq() const { return next_seq_; }

  // Makes sure numbering continues at or above `floor` (e.g. from a backup
  // copy of the floor kept elsewhere). Never lowers next_seq().
  void raise_next_seq(uint32_t floor);

  // --- persistence -------------------------------------------------------
  // Floor that serialize() writes: next_seq() plus the reserve block.
  uint32_t reserved_floor() const;
  // Floor known to be on storage (0 if never saved).
  uint32_t durable_floor() const { return durable_floor_; }
  // True if an item may carry a seq at or above the durable floor: the queue
  // must be saved before any such item is sent.
  bool seq_floor_persist_needed() const { return next_seq_ > durable_floor_; }
  // True if saving would change anything worth keeping: contents changed and
  // either something is queued or the saved copy still holds items. An empty
  // queue whose saved copy is also empty is not rewritten, so a device that
  // is online (items delivered within a cycle) does not touch flash.
  bool needs_save() const;

  std::vector<uint8_t> serialize() const;
  // Replaces the contents from a serialized buffer. On any format error
  // returns false and leaves the queue unchanged. If the buffer holds more
  // items than capacity, the oldest are dropped (and counted).
  bool parse(const uint8_t* data, size_t len);

  bool save(Storage& storage, const char* key);
  LoadResult load(Storage& storage, const char* key);

 private:
  size_t physical(size_t logical) const { return (head_ + logical) % items_.size(); }
  // Logical index of seq (binary search: seqs increase from oldest to newest).
  bool find(uint32_t seq, size_t* logical) const;
  void remove_at(size_t logical);

  std::vector<Item> items_;  // ring buffer, allocated once
  size_t head_ = 0;
  size_t size_ = 0;
  uint32_t next_seq_ = kFirstSeq;
  uint32_t dropped_ = 0;
  uint32_t seq_reserve_;
  uint32_t durable_floor_ = 0;
  size_t saved_size_ = 0;
  bool dirty_ = false;
};

// CRC-32 (IEEE 802.3, as zlib's crc32), used to detect a damaged queue file.
uint32_t crc32(const uint8_t* data, size_t len);

}  // namespace sc
