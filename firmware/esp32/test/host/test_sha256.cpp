#include <cstring>
#include <string>

#include "sha256.h"
#include "test_framework.h"

namespace {

std::string hex_of(const std::string& msg) {
  uint8_t d[sc::Sha256::kDigestSize];
  sc::sha256(msg.data(), msg.size(), d);
  return sc::sha256_hex(d);
}

// Hash `msg` feeding it in pieces of `chunk` bytes through the streaming API.
std::string hex_streamed(const std::string& msg, size_t chunk) {
  sc::Sha256 ctx;
  for (size_t pos = 0; pos < msg.size(); pos += chunk) {
    ctx.update(msg.data() + pos, std::min(chunk, msg.size() - pos));
  }
  uint8_t d[sc::Sha256::kDigestSize];
  ctx.finish(d);
  return sc::sha256_hex(d);
}

const char kMsg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

}  // namespace

// FIPS 180-2, Appendix B.1
TEST(sha256_fips_abc) {
  CHECK_EQ(hex_of("abc"), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

// FIPS 180-2, Appendix B.2 (448-bit message: padding spills into a 2nd block)
TEST(sha256_fips_448_bit_message) {
  CHECK_EQ(std::strlen(kMsg448), size_t(56));
  CHECK_EQ(hex_of(kMsg448), std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  CHECK_EQ(hex_streamed(kMsg448, 1), std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

// FIPS 180-2, Appendix B.3: one million 'a', streamed in odd-sized pieces
// the way OTA chunks arrive from the network.
TEST(sha256_fips_million_a_streamed) {
  const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  const std::string msg(1000000, 'a');
  CHECK_EQ(hex_streamed(msg, 1000000), expected);
  CHECK_EQ(hex_streamed(msg, 4096), expected);
  CHECK_EQ(hex_streamed(msg, 1399), expected);

  sc::Sha256 ctx;
  for (int i = 0; i < 1000000; ++i) ctx.update("a", 1);
  CHECK_EQ(ctx.bytes_hashed(), uint64_t(1000000));
  uint8_t d[32];
  ctx.finish(d);
  CHECK_EQ(sc::sha256_hex(d), expected);
}

TEST(sha256_empty_message) {
  CHECK_EQ(hex_of(""), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

// Every split point around the block and padding boundaries must agree with
// the one-shot digest.
TEST(sha256_streaming_matches_one_shot_at_every_split) {
  std::string msg;
  for (int i = 0; i < 200; ++i) msg.push_back(char(i * 7 + 3));
  for (size_t len : {55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u, 200u}) {
    const std::string m = msg.substr(0, len);
    const std::string whole = hex_of(m);
    for (size_t split = 0; split <= len; ++split) {
      sc::Sha256 ctx;
      ctx.update(m.data(), split);
      ctx.update(m.data() + split, len - split);
      uint8_t d[32];
      ctx.finish(d);
      if (sc::sha256_hex(d) != whole) {
        CHECK_EQ(sc::sha256_hex(d), whole);
        return;
      }
    }
  }
}

TEST(sha256_reset_allows_reuse) {
  sc::Sha256 ctx;
  ctx.update("garbage", 7);
  uint8_t d[32];
  ctx.finish(d);
  ctx.reset();
  ctx.update("abc", 3);
  ctx.finish(d);
  CHECK_EQ(sc::sha256_hex(d), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

TEST(sha256_hex_comparison) {
  uint8_t d[32];
  sc::sha256("abc", 3, d);
  CHECK(sc::sha256_matches_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK(sc::sha256_matches_hex(d, "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  // Last nibble differs.
  CHECK(!sc::sha256_matches_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae"));
  // Wrong length, bad characters, null.
  CHECK(!sc::sha256_matches_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
  CHECK(!sc::sha256_matches_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0"));
  CHECK(!sc::sha256_matches_hex(d, "ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK(!sc::sha256_matches_hex(d, nullptr));
  CHECK(sc::is_sha256_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  CHECK(!sc::is_sha256_hex(""));
}
