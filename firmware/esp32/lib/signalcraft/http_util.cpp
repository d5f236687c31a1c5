#include "http_util.h"

#include <cstdlib>
#include <cstring>

namespace sc {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool starts_with_ci(const char* s, const char* prefix) {
  for (; *prefix != '\0'; ++s, ++prefix) {
    if (*s == '\0' || lower(*s) != *prefix) return false;
  }
  return true;
}

}  // namespace

SendOutcome classify_response(int status, size_t batch_size) {
  if (status <= 0) return SendOutcome::kRetry;
  if (status >= 200 && status < 300) return SendOutcome::kDelivered;
  if (status == 408 || status == 429) return SendOutcome::kRetry;
  if (status >= 400 && status < 500) {
    if (batch_size > 1 && (status == 400 || status == 413 || status == 422)) return SendOutcome::kSplit;
    return SendOutcome::kDrop;
  }
  return SendOutcome::kRetry;  // 5xx and anything unexpected
}

bool parse_retry_after_ms(const char* value, uint32_t* out_ms) {
  if (value == nullptr || out_ms == nullptr) return false;
  const char* p = value;
  while (*p == ' ' || *p == '\t') ++p;
  if (*p < '0' || *p > '9') return false;
  uint64_t seconds = 0;
  while (*p >= '0' && *p <= '9') {
    if (seconds < 0xFFFFFFFFull) seconds = seconds * 10 + uint64_t(*p - '0');
    ++p;
  }
  while (*p == ' ' || *p == '\t') ++p;
  if (*p != '\0') return false;
  const uint64_t ms = seconds * 1000;
  *out_ms = ms > 0xFFFFFFFFull ? 0xFFFFFFFFu : uint32_t(ms);
  return true;
}

std::string url_encode(const char* s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  if (s == nullptr) return out;
  for (const unsigned char* p = reinterpret_cast<const unsigned char*>(s); *p != '\0'; ++p) {
    const unsigned char c = *p;
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string url_origin(const char* url) {
  if (url == nullptr) return "";
  const char* default_port;
  const char* p;
  std::string scheme;
  if (starts_with_ci(url, "https://")) {
    scheme = "https";
    default_port = "443";
    p = url + 8;
  } else if (starts_with_ci(url, "http://")) {
    scheme = "http";
    default_port = "80";
    p = url + 7;
  } else {
    return "";
  }

  const size_t authority_len = std::strcspn(p, "/?#");
  const std::string authority(p, authority_len);
  if (authority.empty() || authority.find('@') != std::string::npos) return "";

  std::string host, port;
  if (authority[0] == '[') {  // IPv6 literal
    const size_t close = authority.find(']');
    if (close == std::string::npos) return "";
    host = authority.substr(0, close + 1);
    const std::string rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return "";
      port = rest.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (host.empty()) return "";
  for (char& c : host) c = lower(c);

  if (port.empty()) {
    port = default_port;
  } else {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return "";
    // Normalise "0443" and friends so equal ports compare equal.
    const unsigned long n = std::strtoul(port.c_str(), nullptr, 10);
    if (n == 0 || n > 65535) return "";
    port = std::to_string(n);
  }
  return scheme + "://" + host + ":" + port;
}

bool same_origin(const char* a, const char* b) {
  const std::string oa = url_origin(a);
  return !oa.empty() && oa == url_origin(b);
}

std::string join_url(const char* base, const char* path) {
  std::string out = base != nullptr ? base : "";
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (path != nullptr && *path != '\0') {
    if (*path != '/') out.push_back('/');
    out.append(path);
  }
  return out;
}

std::string resolve_url(const char* base, const char* ref) {
  if (ref == nullptr || *ref == '\0') return "";
  if (starts_with_ci(ref, "https://") || starts_with_ci(ref, "http://")) {
    return url_origin(ref).empty() ? "" : std::string(ref);
  }
  if (ref[0] == '/' && ref[1] != '/') {  // "//host/x" (scheme-relative) is refused
    const std::string origin = url_origin(base);
    if (origin.empty()) return "";
    // Rebuild from the base's own spelling of scheme://authority, so a URL
    // like https://Host/x keeps working with servers that care about case.
    const char* p = std::strstr(base, "://") + 3;
    return std::string(base, size_t(p - base) + std::strcspn(p, "/?#")) + ref;
  }
  return "";
}

}  // namespace sc
