// Umbrella header for the firmware. Including through this file (quote
// includes resolve next to the including file first) guarantees our short
// module names (version.h, payload.h, ...) never pick up a same-named header
// from the framework.
#pragma once

#include "backoff.h"
#include "dsp.h"
#include "http_util.h"
#include "ota.h"
#include "payload.h"
#include "sensors.h"
#include "seq_queue.h"
#include "sha256.h"
#include "storage.h"
#include "timing.h"
#include "version.h"
#include "wav.h"
