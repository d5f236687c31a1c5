#include "http_util.h"
#include "test_framework.h"

using sc::SendOutcome;

TEST(http_classify_follows_device_protocol) {
  CHECK(sc::classify_response(200, 1) == SendOutcome::kDelivered);
  CHECK(sc::classify_response(201, 5) == SendOutcome::kDelivered);
  CHECK(sc::classify_response(202, 1) == SendOutcome::kDelivered);
  // Retry: transport errors (HTTPClient negative codes), 408, 429, 5xx.
  CHECK(sc::classify_response(-1, 1) == SendOutcome::kRetry);
  CHECK(sc::classify_response(-11, 3) == SendOutcome::kRetry);
  CHECK(sc::classify_response(0, 1) == SendOutcome::kRetry);
  CHECK(sc::classify_response(408, 3) == SendOutcome::kRetry);
  CHECK(sc::classify_response(429, 3) == SendOutcome::kRetry);
  CHECK(sc::classify_response(500, 1) == SendOutcome::kRetry);
  CHECK(sc::classify_response(503, 9) == SendOutcome::kRetry);
  // Unexpected non-error codes are retried rather than losing data.
  CHECK(sc::classify_response(302, 1) == SendOutcome::kRetry);
  CHECK(sc::classify_response(100, 1) == SendOutcome::kRetry);
  // Other 4xx: drop.
  CHECK(sc::classify_response(400, 1) == SendOutcome::kDrop);
  CHECK(sc::classify_response(401, 1) == SendOutcome::kDrop);
  CHECK(sc::classify_response(401, 10) == SendOutcome::kDrop);
  CHECK(sc::classify_response(403, 10) == SendOutcome::kDrop);
  CHECK(sc::classify_response(404, 10) == SendOutcome::kDrop);
  CHECK(sc::classify_response(409, 1) == SendOutcome::kDrop);
  CHECK(sc::classify_response(422, 1) == SendOutcome::kDrop);
  // Validation-type 4xx on a batch: split so good readings survive.
  CHECK(sc::classify_response(400, 2) == SendOutcome::kSplit);
  CHECK(sc::classify_response(413, 60) == SendOutcome::kSplit);
  CHECK(sc::classify_response(422, 60) == SendOutcome::kSplit);
  CHECK(sc::classify_response(413, 1) == SendOutcome::kDrop);
}

TEST(http_retry_after_delta_seconds) {
  uint32_t ms = 7;
  CHECK(sc::parse_retry_after_ms("120", &ms));
  CHECK_EQ(ms, uint32_t(120000));
  CHECK(sc::parse_retry_after_ms(" 0 ", &ms));
  CHECK_EQ(ms, uint32_t(0));
  CHECK(sc::parse_retry_after_ms("99999999999999999999", &ms));
  CHECK_EQ(ms, uint32_t(0xFFFFFFFFu));  // saturates
  ms = 7;
  CHECK(!sc::parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", &ms));
  CHECK(!sc::parse_retry_after_ms("", &ms));
  CHECK(!sc::parse_retry_after_ms("-5", &ms));
  CHECK(!sc::parse_retry_after_ms("1.5", &ms));
  CHECK(!sc::parse_retry_after_ms("12abc", &ms));
  CHECK(!sc::parse_retry_after_ms(nullptr, &ms));
  CHECK_EQ(ms, uint32_t(7));
}

TEST(http_url_encode) {
  CHECK_EQ(sc::url_encode("esp32-inmp441_v1.2~x"), std::string("esp32-inmp441_v1.2~x"));
  CHECK_EQ(sc::url_encode("a b&c=d/é"), std::string("a%20b%26c%3Dd%2F%C3%A9"));
  CHECK_EQ(sc::url_encode(""), std::string(""));
}

TEST(http_url_origin) {
  CHECK_EQ(sc::url_origin("https://Api.Example.com/x/y?z"), std::string("https://api.example.com:443"));
  CHECK_EQ(sc::url_origin("HTTP://host"), std::string("http://host:80"));
  CHECK_EQ(sc::url_origin("https://host:8443"), std::string("https://host:8443"));
  CHECK_EQ(sc::url_origin("https://host:0443/"), std::string("https://host:443"));
  CHECK_EQ(sc::url_origin("https://[fe80::1]:8443/a"), std::string("https://[fe80::1]:8443"));
  CHECK_EQ(sc::url_origin("https://host?x=1"), std::string("https://host:443"));
  CHECK_EQ(sc::url_origin("ftp://host/"), std::string(""));
  CHECK_EQ(sc::url_origin("https://"), std::string(""));
  CHECK_EQ(sc::url_origin("https://:443/"), std::string(""));
  CHECK_EQ(sc::url_origin("https://host:99999/"), std::string(""));
  CHECK_EQ(sc::url_origin("https://host:x/"), std::string(""));
  CHECK_EQ(sc::url_origin("https://our.host@evil.example/"), std::string(""));
  CHECK_EQ(sc::url_origin("/relative"), std::string(""));
}

TEST(http_same_origin_guards_the_token) {
  const char* base = "https://signalcraft.example.com";
  CHECK(sc::same_origin(base, "https://signalcraft.example.com/fw/1.bin"));
  CHECK(sc::same_origin(base, "https://SIGNALCRAFT.example.com:443/fw"));
  CHECK(!sc::same_origin(base, "http://signalcraft.example.com/fw"));  // downgrade
  CHECK(!sc::same_origin(base, "https://signalcraft.example.com:8443/fw"));
  CHECK(!sc::same_origin(base, "https://signalcraft.example.com.evil.io/fw"));
  CHECK(!sc::same_origin(base, "https://signalcraft.example.com@evil.io/fw"));
  CHECK(!sc::same_origin("garbage", "garbage"));
}

TEST(http_join_and_resolve_urls) {
  CHECK_EQ(sc::join_url("https://h", "/api/esp32/data"), std::string("https://h/api/esp32/data"));
  CHECK_EQ(sc::join_url("https://h/", "/api/esp32/data"), std::string("https://h/api/esp32/data"));
  CHECK_EQ(sc::join_url("https://h/sc//", "api/x"), std::string("https://h/sc/api/x"));

  const char* base = "https://Host.example:8443/prefix";
  CHECK_EQ(sc::resolve_url(base, "/api/esp32/firmware/download/7"),
           std::string("https://Host.example:8443/api/esp32/firmware/download/7"));
  CHECK_EQ(sc::resolve_url(base, "https://cdn.example/fw.bin?sig=1"), std::string("https://cdn.example/fw.bin?sig=1"));
  CHECK_EQ(sc::resolve_url(base, "//evil.example/x"), std::string(""));
  CHECK_EQ(sc::resolve_url(base, "fw.bin"), std::string(""));
  CHECK_EQ(sc::resolve_url(base, ""), std::string(""));
  CHECK_EQ(sc::resolve_url(base, "ftp://x/y"), std::string(""));
  CHECK_EQ(sc::resolve_url("not a url", "/x"), std::string(""));
}
