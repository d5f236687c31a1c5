// In-memory sc::Storage for host tests, with switches to simulate failures.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "storage.h"

class MemoryStorage : public sc::Storage {
 public:
  bool read(const char* key, std::vector<uint8_t>* out) override {
    auto it = blobs.find(key);
    if (it == blobs.end()) return false;
    *out = it->second;
    return true;
  }
  bool write(const char* key, const uint8_t* data, size_t len) override {
    ++writes;
    if (fail_writes) return false;
    blobs[key] = std::vector<uint8_t>(data, data + len);
    return true;
  }
  bool remove(const char* key) override { return blobs.erase(key) > 0; }

  std::map<std::string, std::vector<uint8_t>> blobs;
  int writes = 0;
  bool fail_writes = false;
};
