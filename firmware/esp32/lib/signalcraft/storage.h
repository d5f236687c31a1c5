// Minimal key/value blob storage, so queue persistence can be unit-tested
// against memory on the host and backed by LittleFS on the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sc {

class Storage {
 public:
  virtual ~Storage() = default;
  // Reads the whole blob. Returns false if it does not exist or cannot be read.
  virtual bool read(const char* key, std::vector<uint8_t>* out) = 0;
  // Replaces the blob. Implementations must be atomic (write a temporary,
  // then rename) so a power cut leaves either the old or the new version.
  virtual bool write(const char* key, const uint8_t* data, size_t len) = 0;
  virtual bool remove(const char* key) = 0;
};

}  // namespace sc
