// HTTP helpers for the device protocol: what to do with a response, the
// Retry-After header, and URL handling for the API and OTA downloads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sc {

enum class SendOutcome {
  kDelivered,  // 2xx: ack the items
  kRetry,      // transport error, timeout, 408, 429, 5xx: keep, back off
  kDrop,       // other 4xx: the request can never succeed; drop and log
  kSplit,      // 400/413/422 on a multi-item batch: resend one item at a
               // time so one bad reading does not take its neighbours down
};

// `status` is the HTTP status, or <= 0 for a transport-level failure (the
// Arduino HTTPClient returns negative codes for those). Unexpected codes
// (1xx, 3xx) are retried: they indicate a proxy or configuration problem,
// not bad data, so dropping would lose readings for no reason.
SendOutcome classify_response(int status, size_t batch_size);

// Parses a Retry-After value in its delta-seconds form ("120") into
// milliseconds, saturating at UINT32_MAX. The HTTP-date form is not
// supported (returns false), and callers then fall back to plain backoff.
bool parse_retry_after_ms(const char* value, uint32_t* out_ms);

// Percent-encodes everything except RFC 3986 unreserved characters.
std::string url_encode(const char* s);

// "scheme://host:port" in lower case with the default port made explicit,
// or "" if `url` is not an absolute http(s) URL. URLs with userinfo
// ("https://a@b/") are refused, so "https://our.host@evil.example/" cannot
// pass for our server.
std::string url_origin(const char* url);

// True if both URLs are valid and share scheme, host and port. The firmware
// only attaches its bearer token to URLs on the server's own origin.
bool same_origin(const char* a, const char* b);

// Joins the configured server base URL (optionally with a path prefix and/or
// trailing slash) and an API path starting with '/'.
std::string join_url(const char* base, const char* path);

// Resolves a URL the server handed us (OTA "url"): absolute http(s) URLs are
// used as-is, "/path" is taken relative to the base URL's origin. Anything
// else returns "".
std::string resolve_url(const char* base, const char* ref);

}  // namespace sc
