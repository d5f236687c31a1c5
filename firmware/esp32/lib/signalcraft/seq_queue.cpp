#include "seq_queue.h"

#include <cstring>

namespace sc {
namespace {

constexpr uint8_t kMagic[4] = {'S', 'C', 'Q', '1'};
constexpr size_t kHeaderSize = 16;
constexpr size_t kItemOverhead = 6;  // seq + kind + len

void put_le32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(uint8_t(v >> (8 * i)));
}
uint32_t get_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

SeqQueue::SeqQueue(size_t capacity, uint32_t seq_reserve)
    : items_(capacity), seq_reserve_(seq_reserve == 0 ? 1 : seq_reserve) {}

SeqQueue::PushResult SeqQueue::push(uint8_t kind, const uint8_t* data, size_t len) {
  PushResult result;
  if (items_.empty() || len > kMaxData || (len > 0 && data == nullptr)) return result;
  // Never wrap: a wrapped seq would collide with ones the server has seen.
  // (At one item per 5 s this is hundreds of years away.)
  if (next_seq_ == 0xFFFFFFFFu) return result;

  if (size_ == items_.size()) {
    result.evicted = true;
    result.evicted_item = items_[head_];
    head_ = (head_ + 1) % items_.size();
    --size_;
    ++dropped_;
  }
  Item& item = items_[physical(size_)];
  item.seq = next_seq_++;
  item.kind = kind;
  item.len = uint8_t(len);
  if (len > 0) std::memcpy(item.data, data, len);
  ++size_;
  dirty_ = true;

  result.ok = true;
  result.seq = item.seq;
  return result;
}

const SeqQueue::Item* SeqQueue::at(size_t i) const {
  if (i >= size_) return nullptr;
  return &items_[physical(i)];
}

const SeqQueue::Item* SeqQueue::oldest_of_kind(uint8_t kind) const {
  for (size_t i = 0; i < size_; ++i) {
    const Item& item = items_[physical(i)];
    if (item.kind == kind) return &item;
  }
  return nullptr;
}

size_t SeqQueue::count_of_kind(uint8_t kind) const {
  size_t n = 0;
  for (size_t i = 0; i < size_; ++i) {
    if (items_[physical(i)].kind == kind) ++n;
  }
  return n;
}

bool SeqQueue::find(uint32_t seq, size_t* logical) const {
  size_t lo = 0, hi = size_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    const uint32_t s = items_[physical(mid)].seq;
    if (s == seq) {
      *logical = mid;
      return true;
    }
    if (s < seq) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return false;
}

void SeqQueue::remove_at(size_t logical) {
  if (logical == 0) {
    // Common case: the oldest item was delivered.
    head_ = (head_ + 1) % items_.size();
  } else {
    for (size_t i = logical; i + 1 < size_; ++i) items_[physical(i)] = items_[physical(i + 1)];
  }
  --size_;
  if (size_ == 0) head_ = 0;
  dirty_ = true;
}

bool SeqQueue::ack(uint32_t seq) {
  size_t i;
  if (!find(seq, &i)) return false;
  remove_at(i);
  return true;
}

bool SeqQueue::discard(uint32_t seq) {
  if (!ack(seq)) return false;
  ++dropped_;
  return true;
}

void SeqQueue::raise_next_seq(uint32_t floor) {
  if (floor > next_seq_) {
    next_seq_ = floor;
    dirty_ = true;
  }
}

uint32_t SeqQueue::reserved_floor() const {
  const uint64_t floor = uint64_t(next_seq_) + seq_reserve_;
  return floor > 0xFFFFFFFFu ? 0xFFFFFFFFu : uint32_t(floor);
}

bool SeqQueue::needs_save() const {
  if (seq_floor_persist_needed()) return true;
  return dirty_ && (size_ > 0 || saved_size_ > 0);
}

std::vector<uint8_t> SeqQueue::serialize() const {
  std::vector<uint8_t> out;
  out.reserve(kHeaderSize + size_ * (kItemOverhead + 24) + 4);
  out.insert(out.end(), kMagic, kMagic + 4);
  put_le32(&out, reserved_floor());
  put_le32(&out, dropped_);
  put_le32(&out, uint32_t(size_));
  for (size_t i = 0; i < size_; ++i) {
    const Item& item = items_[physical(i)];
    put_le32(&out, item.seq);
    out.push_back(item.kind);
    out.push_back(item.len);
    out.insert(out.end(), item.data, item.data + item.len);
  }
  put_le32(&out, crc32(out.data(), out.size()));
  return out;
}

bool SeqQueue::parse(const uint8_t* data, size_t len) {
  if (data == nullptr || len < kHeaderSize + 4) return false;
  if (std::memcmp(data, kMagic, 4) != 0) return false;
  if (get_le32(data + len - 4) != crc32(data, len - 4)) return false;

  const uint32_t floor = get_le32(data + 4);
  uint32_t dropped = get_le32(data + 8);
  const uint32_t count = get_le32(data + 12);
  const size_t body_end = len - 4;

  // First pass: validate everything before touching our state.
  size_t pos = kHeaderSize;
  uint32_t prev_seq = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (body_end - pos < kItemOverhead) return false;
    const uint32_t seq = get_le32(data + pos);
    const uint8_t item_len = data[pos + 5];
    if (item_len > kMaxData || body_end - pos - kItemOverhead < item_len) return false;
    if (seq < kFirstSeq || (i > 0 && seq <= prev_seq) || seq >= floor) return false;
    prev_seq = seq;
    pos += kItemOverhead + item_len;
  }
  if (pos != body_end) return false;

  // Second pass: load, keeping only the newest `capacity` items.
  const size_t cap = items_.size();
  const size_t skip = count > cap ? count - cap : 0;
  dropped += uint32_t(skip);
  head_ = 0;
  size_ = 0;
  pos = kHeaderSize;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t item_len = data[pos + 5];
    if (i >= skip) {
      Item& item = items_[size_++];
      item.seq = get_le32(data + pos);
      item.kind = data[pos + 4];
      item.len = item_len;
      std::memcpy(item.data, data + pos + kItemOverhead, item_len);
    }
    pos += kItemOverhead + item_len;
  }
  // Resume numbering at the persisted floor: anything below it may already
  // have been sent before the reboot.
  if (floor > next_seq_) next_seq_ = floor;
  dropped_ = dropped;
  durable_floor_ = floor;
  saved_size_ = size_;
  dirty_ = skip > 0;
  return true;
}

bool SeqQueue::save(Storage& storage, const char* key) {
  const std::vector<uint8_t> blob = serialize();
  if (!storage.write(key, blob.data(), blob.size())) return false;
  durable_floor_ = reserved_floor();
  saved_size_ = size_;
  dirty_ = false;
  return true;
}

SeqQueue::LoadResult SeqQueue::load(Storage& storage, const char* key) {
  std::vector<uint8_t> blob;
  if (!storage.read(key, &blob)) return LoadResult::kMissing;
  return parse(blob.data(), blob.size()) ? LoadResult::kLoaded : LoadResult::kCorrupt;
}

}  // namespace sc
