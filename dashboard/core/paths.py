"""URL prefixes that request hooks of several modules tell apart (no imports: every
layer may read them)."""

# The device API: bearer tokens, JSON answers, no session cookie, no page headers. The
# hooks written for pages skip it: it is the hot path (issue 14).
DEVICE_API_PREFIX = "/api/esp32/"
