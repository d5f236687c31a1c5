// Self-contained streaming SHA-256 (FIPS 180-4).
//
// Pure C++: no Arduino or ESP-IDF headers, so it is unit-tested on the host.
// The firmware uses it to hash an OTA image while the image is being written
// to flash; ~1.5 MB hashes in well under a second on the ESP32, which is
// negligible next to the download time, so we keep one tested code path
// instead of switching to mbedtls on the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sc {

class Sha256 {
 public:
  static constexpr size_t kDigestSize = 32;
  static constexpr size_t kBlockSize = 64;

  Sha256() { reset(); }

  void reset();
  void update(const void* data, size_t len);
  // Writes the 32-byte digest. The object must be reset() before reuse.
  void finish(uint8_t out[kDigestSize]);

  // Number of bytes fed so far (used by the OTA code as a cross-check).
  uint64_t bytes_hashed() const { return total_len_; }

 private:
  void compress(const uint8_t block[kBlockSize]);

  uint32_t state_[8];
  uint8_t buffer_[kBlockSize];
  size_t buffer_len_;
  uint64_t total_len_;
};

// One-shot convenience.
void sha256(const void* data, size_t len, uint8_t out[Sha256::kDigestSize]);

// Lower-case hex encoding of a digest (64 characters).
std::string sha256_hex(const uint8_t digest[Sha256::kDigestSize]);

// True if `hex` is exactly 64 hex digits (either case) encoding `digest`.
// Compares every byte regardless of where a mismatch is (no early exit).
bool sha256_matches_hex(const uint8_t digest[Sha256::kDigestSize], const char* hex);

// True if `hex` is a syntactically valid SHA-256 hex string (64 hex digits).
bool is_sha256_hex(const char* hex);

}  // namespace sc
