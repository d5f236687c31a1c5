// The one place the firmware version is defined. Bump it for every release
// that is published for OTA: devices only ever install a strictly newer
// version (see sc::evaluate_manifest).
#pragma once

#ifndef SC_FIRMWARE_VERSION
#define SC_FIRMWARE_VERSION "1.0.0"
#endif
