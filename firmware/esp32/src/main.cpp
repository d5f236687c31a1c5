// SignalCraft compressor monitor: ESP32 firmware (Arduino-ESP32 2.0.x).
//
// What it does, on one cooperative loop:
//   * every 5 s: compressor temperature (DS18B20), motor current (SCT-013
//     clamp, RMS over 200 ms) and, where fitted, vibration (ADXL345 or
//     MPU6050, RMS over 500 ms), discharge pressure (0.5-4.5 V transducer)
//     and humidity (SHT3x) -> one reading in the persistent queue;
//   * every 30 s: POST queued readings to /api/esp32/data in batches;
//   * every 5 min: record a 5 s, 16 kHz clip from the INMP441 microphone to
//     LittleFS and queue it for POST /api/esp32/audio;
//   * every ~4 h: ask /api/esp32/firmware for an update and install it with
//     a resumable, SHA-256-verified download.
//
// Everything that can be decided without hardware (JSON, WAV header, queue,
// backoff, versions, SHA-256, OTA decisions) lives in lib/signalcraft and is
// unit-tested on the host; this file is the glue to the Arduino APIs.
//
// Design notes
//   * Sequence numbers make retries safe: the server de-duplicates by seq, so
//     a request that may or may not have arrived is simply sent again. The
//     queue persists a seq "floor" before anything is sent (see seq_queue.h),
//     with a second copy in NVS, so numbers are never reused after a reboot.
//   * Flash wear: while the server is reachable, readings are delivered
//     within one 30 s cycle and the queue file is not rewritten at all. The
//     cost is that a power cut can lose up to 30 s of readings; while offline,
//     the backlog is saved every cycle.
//   * A single loop (no extra tasks) keeps the queue free of locking. The
//     blocking steps (5 s clip, a TLS request) only delay a reading, which is
//     then taken late rather than skipped.
//   * OTA rollback: see verifyRollbackLater() and README.md.

#include <Arduino.h>
#include <ArduinoJson.h>
#include <DallasTemperature.h>
#include <HTTPClient.h>
#include <LittleFS.h>
#include <OneWire.h>
#include <Preferences.h>
#include <Update.h>
#include <WiFi.h>
#include <WiFiClientSecure.h>
#include <Wire.h>
#include <driver/i2s.h>
#include <esp_ota_ops.h>
#include <esp_system.h>
#include <esp_task_wdt.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "firmware_version.h"
#include "signalcraft.h"

// ---------------------------------------------------------------------------
// Hardware and timing constants
// ---------------------------------------------------------------------------

namespace pins {
constexpr int kI2sSck = 26;      // INMP441 SCK
constexpr int kI2sWs = 25;       // INMP441 WS
constexpr int kI2sSd = 33;       // INMP441 SD
constexpr int kOneWire = 4;      // DS18B20 DQ, 4.7k pull-up to 3V3
constexpr int kCurrentAdc = 34;  // SCT-013 via burden + bias; ADC1 (ADC2 is unusable with Wi-Fi on)
constexpr int kPressureAdc = 35; // pressure transducer through a divider; ADC1
constexpr int kI2cSda = 21;      // accelerometer and SHT3x share the bus
constexpr int kI2cScl = 22;
}  // namespace pins

constexpr uint32_t kReadingPeriodMs = 5 * 1000;
constexpr uint32_t kUploadPeriodMs = 30 * 1000;
constexpr uint32_t kClipPeriodMs = 5 * 60 * 1000;
constexpr uint32_t kFirstClipDelayMs = 30 * 1000;
constexpr uint32_t kOtaCheckPeriodMs = 4UL * 60 * 60 * 1000;
constexpr uint32_t kOtaCheckJitterMs = 30UL * 60 * 1000;  // spread the fleet out
constexpr uint32_t kOtaRetryAfterErrorMs = 15UL * 60 * 1000;
constexpr uint32_t kFirstOtaCheckDelayMs = 2UL * 60 * 1000;
constexpr uint32_t kWifiRetryMs = 30 * 1000;

constexpr uint32_t kSampleRate = 16000;
constexpr uint32_t kClipSeconds = 5;
constexpr uint32_t kClipSamples = kSampleRate * kClipSeconds;
constexpr unsigned kPcmShift = 16;          // 24-bit INMP441 -> top 16 bits, no extra gain
constexpr size_t kI2sChunkSamples = 256;    // = DMA buffer length
constexpr i2s_port_t kI2sPort = I2S_NUM_0;

constexpr uint32_t kCurrentWindowMs = 200;  // 10 cycles at 50 Hz, 12 at 60 Hz
constexpr double kBiasMinMv = 300.0;        // outside this the bias divider is missing
constexpr double kBiasMaxMv = 3000.0;

constexpr uint32_t kI2cHz = 400000;
constexpr uint32_t kVibrationWindowMs = 500;
constexpr uint32_t kVibrationSamplePeriodUs = 1000;  // 1 kHz polling
constexpr size_t kPressureSamples = 32;              // averaged per reading
constexpr uint32_t kSensorReprobeTicks = 12;         // look for absent I2C sensors once a minute

constexpr size_t kQueueCapacity = 1024;   // ~85 min of readings offline, 36 KB RAM
constexpr uint32_t kSeqReserve = 1000;    // floor rewritten once per 1000 seqs
constexpr size_t kMaxQueuedClips = 4;     // 4 x 160 KB on a 1 MB filesystem
constexpr size_t kFsReserveBytes = 64 * 1024;
constexpr size_t kMaxBatch = 60;          // server accepts up to 500; keep bodies ~6 KB
constexpr int kMaxRequestsPerCycle = 16;  // bounds how long one cycle can block sampling
constexpr int kMaxClipsPerCycle = 2;

constexpr uint16_t kHttpTimeoutMs = 20000;
constexpr int32_t kHttpConnectTimeoutMs = 10000;
constexpr uint32_t kWdtTimeoutS = 120;

// A freshly installed image must report in within this time, or we roll back.
constexpr uint32_t kProbationMs = 15UL * 60 * 1000;
constexpr uint32_t kMaxOtaAttemptsPerVersion = 2;
constexpr int kMaxDownloadAttempts = 8;

constexpr char kProvisionFile[] = "/provision.json";
constexpr char kQueueFile[] = "/queue.bin";
constexpr char kOtaFile[] = "/ota.json";
constexpr char kClipDir[] = "/clips";
constexpr char kClipTmp[] = "/clips/recording.tmp";

enum ItemKind : uint8_t { kItemReading = 1, kItemClip = 2 };

// ---------------------------------------------------------------------------
// Rollback hook
// ---------------------------------------------------------------------------

// Arduino-ESP32 (2.0.4+) calls this from initArduino(), before setup(). If it
// returns false the core immediately marks a freshly OTA'd image valid, which
// would make rollback useless: a new image that boots but cannot talk to the
// server would be kept forever. Returning true leaves the image in
// ESP_OTA_IMG_PENDING_VERIFY; confirmNewImage() marks it valid only after the
// server acknowledged its "installed" report. Until then any reset (crash,
// watchdog, power cut, or our own probation timeout) makes the bootloader
// boot the previous slot. It must have C linkage to override the core's weak
// symbol.
extern "C" bool verifyRollbackLater() { return true; }

// ---------------------------------------------------------------------------
// Small adapters
// ---------------------------------------------------------------------------

class EspRandom : public sc::RandomSource {
 public:
  // Hardware RNG; truly random once the radio is on, which is when we retry.
  uint32_t next_u32() override { return esp_random(); }
};

// sc::Storage on LittleFS. Writes go to "<key>.tmp" and are renamed over the
// old file, so a power cut leaves a complete old or new copy.
class LittleFsStorage : public sc::Storage {
 public:
  bool read(const char* key, std::vector<uint8_t>* out) override {
    if (readFile(key, out)) return true;
    // Crash between remove and rename in write(): the temp copy is complete.
    return readFile((String(key) + ".tmp").c_str(), out);
  }

  bool write(const char* key, const uint8_t* data, size_t len) override {
    const String tmp = String(key) + ".tmp";
    File f = LittleFS.open(tmp, FILE_WRITE);
    if (!f) return false;
    const size_t n = f.write(data, len);
    f.close();
    if (n != len) {
      LittleFS.remove(tmp);
      return false;
    }
    if (LittleFS.rename(tmp, key)) return true;
    // Some VFS layers refuse to rename over an existing file.
    LittleFS.remove(key);
    return LittleFS.rename(tmp, key);
  }

  bool remove(const char* key) override { return LittleFS.remove(key); }

 private:
  static bool readFile(const char* path, std::vector<uint8_t>* out) {
    if (!LittleFS.exists(path)) return false;
    File f = LittleFS.open(path, FILE_READ);
    if (!f) return false;
    out->resize(f.size());
    const size_t n = out->empty() ? 0 : f.read(out->data(), out->size());
    f.close();
    return n == out->size();
  }
};

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

struct Config {
  String wifi_ssid;
  String wifi_password;
  String server_url;
  String device_token;
  String hw_model;
  String ca_cert;  // must outlive g_tls: setCACert() keeps the pointer
  String ntp_server = "pool.ntp.org";
  float amps_per_volt = 90.9f;  // SCT-013-000 (2000 turns) on a 22 ohm burden
  bool pressure_fitted = true;  // false: do not even sample the pressure input
  sc::PressureCalibration pressure;
};

// What we remember about OTA across reboots (/ota.json).
struct OtaRecord {
  String pending_version;   // image we just installed and rebooted into
  String previous_version;  // image that installed it
  String failed_version;    // last version that rolled back
  uint32_t failed_attempts = 0;
};

struct HttpResult {
  int status = 0;               // HTTP status, or HTTPClient's negative error
  uint32_t retry_after_ms = 0;  // 0 = no usable Retry-After
  String body;
};

Config g_config;
LittleFsStorage g_storage;
Preferences g_prefs;
EspRandom g_rng;
sc::SeqQueue g_queue(kQueueCapacity, kSeqReserve);
sc::Backoff g_upload_backoff(5 * 1000, 15 * 60 * 1000, g_rng);
uint32_t g_nvs_seq_floor = 0;
uint32_t g_split_until_seq = 0;  // send readings one by one up to this seq

WiFiClientSecure g_tls;
WiFiClient g_plain;
std::string g_connected_origin;  // where g_tls/g_plain may hold a keep-alive connection
uint32_t g_last_wifi_attempt = 0;

OneWire g_onewire(pins::kOneWire);
DallasTemperature g_temp_sensor(&g_onewire);
DeviceAddress g_temp_addr;
bool g_have_temp_sensor = false;
sc::AccelModel g_accel = sc::AccelModel::kNone;
uint8_t g_accel_addr = 0;
uint8_t g_sht_addr = 0;  // 0 = no SHT3x
uint32_t g_sensor_ticks = 0;
bool g_i2s_ok = false;

OtaRecord g_ota;
bool g_probation = false;          // running a new image that has not checked in yet
bool g_pending_verify = false;     // ... and the bootloader will roll it back
uint32_t g_next_confirm_at = 0;
bool g_have_rollback_report = false;
uint32_t g_next_rollback_report_at = 0;
String g_rollback_report_version;
String g_rollback_report_reason;

uint32_t g_boot_ms = 0;
uint32_t g_next_reading_at = 0;
uint32_t g_next_upload_at = 0;
uint32_t g_next_clip_at = 0;
uint32_t g_next_ota_check_at = 0;

// ---------------------------------------------------------------------------
// Utilities
// ---------------------------------------------------------------------------

bool clockIsSet() {
  return time(nullptr) > 1700000000;  // any time after Nov 2023 means SNTP has run
}

int64_t epochMs() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return int64_t(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
}

String clipPath(uint32_t seq) { return String(kClipDir) + "/" + String(seq) + ".wav"; }

String apiUrl(const char* path) { return sc::join_url(g_config.server_url.c_str(), path).c_str(); }

WiFiClient& transportFor(const String& url) {
  if (url.startsWith("https://")) return g_tls;
  return g_plain;  // only for a lab server configured with http://
}

// ---------------------------------------------------------------------------
// Provisioning
// ---------------------------------------------------------------------------

bool loadProvisioning(Config* cfg, String* error) {
  File f = LittleFS.open(kProvisionFile, FILE_READ);
  if (!f) {
    *error = "missing /provision.json (see provision.example.json)";
    return false;
  }
  JsonDocument doc;
  const DeserializationError err = deserializeJson(doc, f);
  f.close();
  if (err) {
    *error = String("provision.json: ") + err.c_str();
    return false;
  }
  cfg->wifi_ssid = doc["wifi_ssid"] | "";
  cfg->wifi_password = doc["wifi_password"] | "";
  cfg->server_url = doc["server_url"] | "";
  cfg->device_token = doc["device_token"] | "";
  cfg->hw_model = doc["hw_model"] | "";
  cfg->ca_cert = doc["ca_cert"] | "";
  cfg->ntp_server = doc["ntp_server"] | "pool.ntp.org";
  cfg->amps_per_volt = doc["current_amps_per_volt"] | 90.9f;
  cfg->pressure_fitted = doc["pressure_fitted"] | true;
  cfg->pressure.p_min_bar = doc["pressure_min_bar"] | 0.0;
  cfg->pressure.p_max_bar = doc["pressure_max_bar"] | 30.0;
  cfg->pressure.divider_ratio = doc["pressure_divider_ratio"] | 2.0;
  cfg->pressure.offset_bar = doc["pressure_offset_bar"] | 0.0;
  if (cfg->pressure_fitted && !sc::pressure_calibration_valid(cfg->pressure)) {
    *error = "pressure_* calibration in provision.json is not plausible";
    return false;
  }

  if (cfg->wifi_ssid.isEmpty() || cfg->server_url.isEmpty() || cfg->device_token.isEmpty() ||
      cfg->hw_model.isEmpty()) {
    *error = "provision.json needs wifi_ssid, server_url, device_token and hw_model";
    return false;
  }
  if (sc::url_origin(cfg->server_url.c_str()).empty()) {
    *error = "server_url must be an absolute http(s) URL";
    return false;
  }
  if (cfg->server_url.startsWith("https://") && cfg->ca_cert.indexOf("BEGIN CERTIFICATE") < 0) {
    // No insecure fallback: the token must never go to an unverified peer.
    *error = "https server_url needs ca_cert (PEM)";
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Queue persistence
// ---------------------------------------------------------------------------

bool persistQueue() {
  if (!g_queue.save(g_storage, kQueueFile)) {
    log_e("saving the queue failed (filesystem full?)");
    return false;
  }
  // Second copy of the seq floor in NVS (wear-levelled, written once per
  // kSeqReserve seqs): if the queue file were ever lost, we still must not
  // reuse numbers the server has already seen.
  const uint32_t floor = g_queue.durable_floor();
  if (floor != g_nvs_seq_floor && g_prefs.putUInt("seq_floor", floor) == sizeof(uint32_t)) {
    g_nvs_seq_floor = floor;
  }
  return true;
}

void loadQueue() {
  switch (g_queue.load(g_storage, kQueueFile)) {
    case sc::SeqQueue::LoadResult::kLoaded:
      log_i("queue: %u pending, next seq %lu", unsigned(g_queue.size()), (unsigned long)g_queue.next_seq());
      break;
    case sc::SeqQueue::LoadResult::kMissing:
      log_i("queue: none saved");
      break;
    case sc::SeqQueue::LoadResult::kCorrupt:
      log_e("queue file corrupt, starting empty");
      break;
  }
  g_nvs_seq_floor = g_prefs.getUInt("seq_floor", 0);
  g_queue.raise_next_seq(g_nvs_seq_floor);
}

void deleteClipFile(uint32_t seq) { LittleFS.remove(clipPath(seq)); }

// Called after every push: if the queue was full, its oldest item is gone.
void noteEviction(const sc::SeqQueue::PushResult& r) {
  if (!r.evicted) return;
  log_w("queue full: dropped seq %lu (%lu dropped so far)", (unsigned long)r.evicted_item.seq,
        (unsigned long)g_queue.dropped());
  if (r.evicted_item.kind == kItemClip) deleteClipFile(r.evicted_item.seq);
}

void dropOldestClip() {
  const sc::SeqQueue::Item* item = g_queue.oldest_of_kind(kItemClip);
  if (item == nullptr) return;
  const uint32_t seq = item->seq;
  log_w("dropping unsent clip %lu to make room", (unsigned long)seq);
  g_queue.discard(seq);
  deleteClipFile(seq);
}

// Clip files without a queue entry (e.g. saved just before a power cut that
// beat the queue save) would leak flash: delete them.
void removeOrphanClips() {
  LittleFS.mkdir(kClipDir);
  File dir = LittleFS.open(kClipDir);
  if (!dir || !dir.isDirectory()) return;
  std::vector<String> doomed;
  for (File f = dir.openNextFile(); f; f = dir.openNextFile()) {
    String path = f.path();
    const String name = path.substring(path.lastIndexOf('/') + 1);
    f.close();
    char* end = nullptr;
    const unsigned long seq = strtoul(name.c_str(), &end, 10);
    bool referenced = false;
    if (end != name.c_str() && strcmp(end, ".wav") == 0) {
      for (size_t i = 0; i < g_queue.size(); ++i) {
        const sc::SeqQueue::Item* item = g_queue.at(i);
        if (item->kind == kItemClip && item->seq == seq) referenced = true;
      }
    }
    if (!referenced) doomed.push_back(path);
  }
  for (const String& path : doomed) {
    log_w("removing orphan %s", path.c_str());
    LittleFS.remove(path);
  }
}

// ---------------------------------------------------------------------------
// Sensors
// ---------------------------------------------------------------------------

bool findTemperatureSensor() {
  g_temp_sensor.begin();
  if (!g_temp_sensor.getAddress(g_temp_addr, 0)) return false;
  g_temp_sensor.setResolution(g_temp_addr, 12);
  // Non-blocking: the 750 ms conversion runs between two 5 s ticks, and
  // each tick reads the result of the conversion started by the previous one.
  g_temp_sensor.setWaitForConversion(false);
  g_temp_sensor.requestTemperatures();
  return true;
}

// --- I2C helpers (accelerometer, SHT3x) ---

bool i2cWriteReg(uint8_t addr, uint8_t reg, uint8_t value) {
  Wire.beginTransmission(addr);
  Wire.write(reg);
  Wire.write(value);
  return Wire.endTransmission() == 0;
}

bool i2cReadRegs(uint8_t addr, uint8_t reg, uint8_t* out, size_t n) {
  Wire.beginTransmission(addr);
  Wire.write(reg);
  if (Wire.endTransmission(false) != 0) return false;  // repeated start
  if (Wire.requestFrom(addr, uint8_t(n)) != n) return false;
  for (size_t i = 0; i < n; ++i) out[i] = uint8_t(Wire.read());
  return true;
}

bool i2cCommand16(uint8_t addr, uint16_t cmd) {
  Wire.beginTransmission(addr);
  Wire.write(uint8_t(cmd >> 8));
  Wire.write(uint8_t(cmd & 0xFF));
  return Wire.endTransmission() == 0;
}

bool i2cRead(uint8_t addr, uint8_t* out, size_t n) {
  if (Wire.requestFrom(addr, uint8_t(n)) != n) return false;
  for (size_t i = 0; i < n; ++i) out[i] = uint8_t(Wire.read());
  return true;
}

// --- Accelerometer ---

bool configureAccelerometer(sc::AccelModel model, uint8_t addr) {
  if (model == sc::AccelModel::kAdxl345) {
    return i2cWriteReg(addr, 0x2C, 0x0E)      // BW_RATE: 1600 Hz output, 800 Hz bandwidth
           && i2cWriteReg(addr, 0x31, 0x0B)   // DATA_FORMAT: FULL_RES, +-16 g (3.9 mg/LSB)
           && i2cWriteReg(addr, 0x2D, 0x08);  // POWER_CTL: measure
  }
  if (model == sc::AccelModel::kMpu6050) {
    return i2cWriteReg(addr, 0x6B, 0x00)      // PWR_MGMT_1: wake up
           && i2cWriteReg(addr, 0x1A, 0x00)   // CONFIG: DLPF off (260 Hz accelerometer bandwidth)
           && i2cWriteReg(addr, 0x1C, 0x10);  // ACCEL_CONFIG: +-8 g (4096 LSB/g)
  }
  return false;
}

bool findAccelerometer() {
  struct Probe {
    uint8_t addr;
    uint8_t id_reg;
  };
  const Probe probes[] = {{sc::kAdxl345Address, sc::kAdxl345DevIdReg},
                          {sc::kAdxl345AltAddress, sc::kAdxl345DevIdReg},
                          {sc::kMpu6050Address, sc::kMpu6050WhoAmIReg},
                          {sc::kMpu6050AltAddress, sc::kMpu6050WhoAmIReg}};
  for (const Probe& p : probes) {
    uint8_t id = 0;
    if (!i2cReadRegs(p.addr, p.id_reg, &id, 1)) continue;
    const sc::AccelModel model = sc::identify_accelerometer(p.addr, id);
    if (model != sc::AccelModel::kNone && configureAccelerometer(model, p.addr)) {
      g_accel = model;
      g_accel_addr = p.addr;
      log_i("%s accelerometer at 0x%02x", model == sc::AccelModel::kAdxl345 ? "ADXL345" : "MPU6050", p.addr);
      delay(20);  // first conversions
      return true;
    }
  }
  g_accel = sc::AccelModel::kNone;
  return false;
}

// Vibration RMS in g over kVibrationWindowMs, polled at 1 kHz, gravity removed.
float readVibrationG() {
  if (g_accel == sc::AccelModel::kNone) return NAN;
  const uint8_t data_reg = g_accel == sc::AccelModel::kAdxl345 ? sc::kAdxl345DataReg : sc::kMpu6050DataReg;
  sc::VibrationWindow window(kVibrationWindowMs * 1000 / kVibrationSamplePeriodUs / 2);
  size_t errors = 0;
  const uint32_t start = micros();
  uint32_t next = start;
  while (micros() - start < kVibrationWindowMs * 1000) {
    while (int32_t(micros() - next) < 0) {
    }
    next += kVibrationSamplePeriodUs;
    uint8_t raw[6];
    double g[3];
    if (i2cReadRegs(g_accel_addr, data_reg, raw, sizeof(raw)) && sc::decode_accel_sample(g_accel, raw, g)) {
      window.add(g);
    } else {
      ++errors;
    }
  }
  const double rms = window.rms_g();
  if (std::isnan(rms)) {
    log_w("accelerometer: %u of the window's reads failed, looking for it again later", unsigned(errors));
    g_accel = sc::AccelModel::kNone;
    return NAN;
  }
  return float(rms);
}

// --- SHT3x humidity ---

bool findHumiditySensor() {
  for (const uint8_t addr : {sc::kSht3xAddress, sc::kSht3xAltAddress}) {
    uint8_t reply[3];
    uint16_t status = 0;
    if (i2cCommand16(addr, sc::kSht3xReadStatus) && i2cRead(addr, reply, sizeof(reply)) &&
        sc::sht3x_status_valid(reply, &status)) {
      g_sht_addr = addr;
      log_i("SHT3x at 0x%02x (status 0x%04x)", addr, status);
      return true;
    }
  }
  g_sht_addr = 0;
  return false;
}

float readHumidityPct() {
  if (g_sht_addr == 0) return NAN;
  uint8_t frame[6];
  double temp_c = NAN;
  double rh = NAN;
  if (!i2cCommand16(g_sht_addr, sc::kSht3xMeasureHighRep)) {
    g_sht_addr = 0;
    return NAN;
  }
  delay(16);  // high repeatability: 15 ms max
  if (!i2cRead(g_sht_addr, frame, sizeof(frame)) || !sc::sht3x_decode(frame, &temp_c, &rh)) {
    log_w("SHT3x read or CRC failed");  // one bad frame: try again next tick
    return NAN;
  }
  return float(rh);
}

// --- Pressure transducer ---

// NaN when no transducer is fitted or its wire is open or shorted
// (sc::pressure_bar_from_adc_mv); a reconnected sensor is read again at once.
float readPressureBar() {
  if (!g_config.pressure_fitted) return NAN;
  double sum = 0.0;
  for (size_t i = 0; i < kPressureSamples; ++i) sum += analogReadMilliVolts(pins::kPressureAdc);
  const double bar = sc::pressure_bar_from_adc_mv(sum / kPressureSamples, g_config.pressure);
  return float(bar);
}

void setupSensors() {
  g_have_temp_sensor = findTemperatureSensor();
  if (!g_have_temp_sensor) log_w("no DS18B20 found on GPIO%d", pins::kOneWire);

  analogReadResolution(12);
  analogSetPinAttenuation(pins::kCurrentAdc, ADC_11db);  // ~0.15-2.45 V usable range
  analogSetPinAttenuation(pins::kPressureAdc, ADC_11db);

  Wire.begin(pins::kI2cSda, pins::kI2cScl, kI2cHz);
  Wire.setTimeOut(20);  // ms: a stuck bus must not stall the loop
  if (!findAccelerometer()) log_w("no accelerometer (ADXL345/MPU6050) on I2C: no vibration_rms_g");
  if (!findHumiditySensor()) log_w("no SHT3x on I2C: no humidity_pct");
  if (g_config.pressure_fitted && std::isnan(readPressureBar())) {
    log_w("pressure input on GPIO%d reads open or shorted: no pressure_bar until it is connected",
          pins::kPressureAdc);
  }
}

// Sensors plugged in (or recovered) after boot are found within a minute.
void reprobeSensors() {
  if (++g_sensor_ticks % kSensorReprobeTicks != 0) return;
  if (g_accel == sc::AccelModel::kNone && findAccelerometer()) log_i("accelerometer found");
  if (g_sht_addr == 0 && findHumiditySensor()) log_i("SHT3x found");
}

float readTemperatureC() {
  if (!g_have_temp_sensor) {
    // The probe may have been (re)connected since; look again, quietly.
    g_have_temp_sensor = findTemperatureSensor();
    if (g_have_temp_sensor) log_i("DS18B20 found");
    return NAN;  // its first conversion is still running
  }
  const float t = g_temp_sensor.getTempC(g_temp_addr);  // result of the previous request
  g_temp_sensor.requestTemperatures();                  // start the next conversion
  if (t == DEVICE_DISCONNECTED_C) {
    log_w("DS18B20 read failed");
    g_have_temp_sensor = false;
    return NAN;
  }
  return t;
}

// RMS current through the clamp over kCurrentWindowMs. The ADC sees the
// burden voltage riding on a mid-rail bias; the accumulator removes that DC.
float readCurrentA() {
  sc::RmsAccumulator acc;
  const uint32_t start = micros();
  while (micros() - start < kCurrentWindowMs * 1000) {
    acc.add(double(analogReadMilliVolts(pins::kCurrentAdc)));  // eFuse-calibrated mV
  }
  if (acc.count() < 100) return NAN;
  if (acc.mean() < kBiasMinMv || acc.mean() > kBiasMaxMv) {
    log_w("current input mean %.0f mV: bias divider missing?", acc.mean());
    return NAN;
  }
  return float(acc.ac_rms() / 1000.0 * g_config.amps_per_volt);
}

void takeReading() {
  sc::Reading r;
  r.values[sc::kTemperatureC] = readTemperatureC();
  r.values[sc::kCurrentA] = readCurrentA();
  r.values[sc::kVibrationRmsG] = readVibrationG();
  r.values[sc::kPressureBar] = readPressureBar();
  r.values[sc::kHumidityPct] = readHumidityPct();
  reprobeSensors();
  if (clockIsSet()) {
    r.has_ts = true;
    r.ts_ms = epochMs();
  }  // else the server stamps it on arrival
  if (!r.has_any_metric()) {
    log_w("no sensor produced a value; nothing queued");
    return;
  }
  uint8_t buf[sc::kMaxEncodedReading];
  const size_t n = sc::encode_reading(r, buf, sizeof(buf));
  const sc::SeqQueue::PushResult res = g_queue.push(kItemReading, buf, n);
  if (!res.ok) {
    log_e("could not queue reading");
    return;
  }
  noteEviction(res);
}

// ---------------------------------------------------------------------------
// Microphone
// ---------------------------------------------------------------------------

bool setupI2s() {
  // Field-by-field assignment instead of designated initializers: the struct
  // layout differs between ESP-IDF releases.
  i2s_config_t cfg = {};
  cfg.mode = i2s_mode_t(I2S_MODE_MASTER | I2S_MODE_RX);
  cfg.sample_rate = kSampleRate;
  cfg.bits_per_sample = I2S_BITS_PER_SAMPLE_32BIT;  // INMP441: 24 bits in a 32-bit slot
  cfg.channel_format = I2S_CHANNEL_FMT_ONLY_LEFT;   // L/R pin tied to GND
  cfg.communication_format = I2S_COMM_FORMAT_STAND_I2S;
  cfg.intr_alloc_flags = ESP_INTR_FLAG_LEVEL1;
  cfg.dma_buf_count = 8;
  cfg.dma_buf_len = kI2sChunkSamples;
  cfg.use_apll = false;

  i2s_pin_config_t pin_cfg = {};
  pin_cfg.mck_io_num = I2S_PIN_NO_CHANGE;  // left at 0 it would drive MCLK onto GPIO0 (a strapping pin)
  pin_cfg.bck_io_num = pins::kI2sSck;
  pin_cfg.ws_io_num = pins::kI2sWs;
  pin_cfg.data_out_num = I2S_PIN_NO_CHANGE;
  pin_cfg.data_in_num = pins::kI2sSd;

  if (i2s_driver_install(kI2sPort, &cfg, 0, nullptr) != ESP_OK) return false;
  if (i2s_set_pin(kI2sPort, &pin_cfg) != ESP_OK) {
    i2s_driver_uninstall(kI2sPort);
    return false;
  }
  return true;
}

// The DMA ring keeps filling while we do other things; discard what is in it
// so the clip starts now rather than with stale audio.
void drainI2s() {
  static int32_t scratch[kI2sChunkSamples];
  for (int i = 0; i < 64; ++i) {
    size_t n = 0;
    i2s_read(kI2sPort, scratch, sizeof(scratch), &n, 0);
    if (n == 0) break;
  }
}

bool recordClip() {
  if (!g_i2s_ok) return false;

  while (g_queue.count_of_kind(kItemClip) >= kMaxQueuedClips) dropOldestClip();
  const size_t need = sc::kWavHeaderSize + size_t(kClipSamples) * sizeof(int16_t) + kFsReserveBytes;
  while (LittleFS.totalBytes() - LittleFS.usedBytes() < need && g_queue.count_of_kind(kItemClip) > 0) {
    dropOldestClip();
  }
  if (LittleFS.totalBytes() - LittleFS.usedBytes() < need) {
    log_e("filesystem full, skipping clip");
    return false;
  }

  File f = LittleFS.open(kClipTmp, FILE_WRITE);
  if (!f) return false;
  uint8_t header[sc::kWavHeaderSize];
  sc::wav_header_pcm16_mono(kSampleRate, kClipSamples, header);
  f.write(header, sizeof(header));

  static int32_t raw[kI2sChunkSamples];
  static int16_t pcm[kI2sChunkSamples];
  drainI2s();
  uint32_t got = 0;
  while (got < kClipSamples) {
    const size_t want = std::min<size_t>(kI2sChunkSamples, kClipSamples - got);
    size_t bytes_read = 0;
    // Partial reads come back with ESP_ERR_TIMEOUT; only "nothing at all" is fatal.
    i2s_read(kI2sPort, raw, want * sizeof(int32_t), &bytes_read, pdMS_TO_TICKS(200));
    const size_t n = bytes_read / sizeof(int32_t);
    if (n == 0) break;
    sc::i2s32_to_pcm16(raw, pcm, n, kPcmShift);
    // The ESP32 is little-endian, as WAV requires: write the samples as-is.
    if (f.write(reinterpret_cast<const uint8_t*>(pcm), n * sizeof(int16_t)) != n * sizeof(int16_t)) break;
    got += n;
  }

  if (got < kClipSamples) {
    if (got < kSampleRate) {  // under a second is useless for analysis
      log_e("microphone delivered only %lu samples", (unsigned long)got);
      f.close();
      LittleFS.remove(kClipTmp);
      return false;
    }
    // Keep the shorter clip but make its header tell the truth.
    sc::wav_header_pcm16_mono(kSampleRate, got, header);
    f.seek(0);
    f.write(header, sizeof(header));
  }
  f.close();

  const sc::SeqQueue::PushResult res = g_queue.push(kItemClip, nullptr, 0);
  if (!res.ok) {
    LittleFS.remove(kClipTmp);
    return false;
  }
  noteEviction(res);
  if (!LittleFS.rename(kClipTmp, clipPath(res.seq))) {
    g_queue.discard(res.seq);
    LittleFS.remove(kClipTmp);
    return false;
  }
  // The file exists now; make sure its queue entry survives a reboot too.
  persistQueue();
  log_i("clip %lu recorded (%lu samples)", (unsigned long)res.seq, (unsigned long)got);
  return true;
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

void beginRequest(HTTPClient& http, const String& url, bool with_token) {
  // HTTPClient reuses an open keep-alive connection without checking which
  // host it goes to, so drop it when switching origin (e.g. to a CDN).
  const std::string origin = sc::url_origin(url.c_str());
  if (origin != g_connected_origin) {
    g_tls.stop();
    g_plain.stop();
    g_connected_origin = origin;
  }
  http.setReuse(true);  // saves a TLS handshake per request on the same server
  http.begin(transportFor(url), url);
  http.setTimeout(kHttpTimeoutMs);
  http.setConnectTimeout(kHttpConnectTimeoutMs);
  http.setUserAgent(String("signalcraft-esp32/") + SC_FIRMWARE_VERSION);
  http.setFollowRedirects(HTTPC_DISABLE_FOLLOW_REDIRECTS);  // never replay the token elsewhere
  static const char* kCollect[] = {"Retry-After", "Content-Range"};
  http.collectHeaders(kCollect, 2);
  if (with_token) http.addHeader("Authorization", "Bearer " + g_config.device_token);
}

HttpResult finishRequest(HTTPClient& http, int status) {
  HttpResult r;
  r.status = status;
  if (status > 0) {
    uint32_t ms = 0;
    if (http.hasHeader("Retry-After") && sc::parse_retry_after_ms(http.header("Retry-After").c_str(), &ms)) {
      r.retry_after_ms = ms;
    }
    const int size = http.getSize();
    if (size != 0 && size < 4096) r.body = http.getString();  // small JSON replies only
  }
  http.end();
  return r;
}

HttpResult postJson(const char* path, const std::string& body) {
  HTTPClient http;
  beginRequest(http, apiUrl(path), true);
  http.addHeader("Content-Type", "application/json");
  const int status = http.POST(reinterpret_cast<uint8_t*>(const_cast<char*>(body.data())), body.size());
  return finishRequest(http, status);
}

// Logs the server's {error, detail} for a request we are about to drop.
void logRejection(const char* what, const HttpResult& r) {
  log_e("%s rejected with HTTP %d: %s", what, r.status, r.body.c_str());
}

bool reportFirmwareStatus(const char* version, sc::FirmwareState state, const char* reason) {
  const HttpResult r = postJson("/api/esp32/firmware/status", sc::build_firmware_status_json(version, state, reason));
  const bool ok = sc::classify_response(r.status, 1) == sc::SendOutcome::kDelivered;
  log_i("firmware status %s %s -> %d", version, sc::firmware_state_name(state), r.status);
  return ok;
}

// ---------------------------------------------------------------------------
// Uploads
// ---------------------------------------------------------------------------

// Sends queued readings, oldest first. Returns false on a retryable failure.
bool uploadReadings(uint32_t* retry_after_ms) {
  for (int request = 0; request < kMaxRequestsPerCycle; ++request) {
    std::vector<sc::Reading> batch;
    std::vector<uint32_t> undecodable;
    for (size_t i = 0; i < g_queue.size(); ++i) {
      const sc::SeqQueue::Item* item = g_queue.at(i);
      if (item->kind != kItemReading) continue;
      // After a 400/413/422 on a batch, the readings of that batch go one per
      // request, so the bad one is dropped alone.
      if (!batch.empty() && (batch.size() >= kMaxBatch || batch.front().seq <= g_split_until_seq)) break;
      sc::Reading r;
      if (sc::decode_reading(item->data, item->len, item->seq, &r)) {
        batch.push_back(r);
      } else {
        undecodable.push_back(item->seq);
      }
    }
    for (uint32_t seq : undecodable) {
      log_e("dropping undecodable reading %lu", (unsigned long)seq);
      g_queue.discard(seq);
    }
    if (batch.empty()) return true;

    const HttpResult r = postJson("/api/esp32/data", sc::build_readings_json(batch.data(), batch.size()));
    switch (sc::classify_response(r.status, batch.size())) {
      case sc::SendOutcome::kDelivered:
        for (const sc::Reading& rd : batch) g_queue.ack(rd.seq);
        log_i("delivered %u readings: %s", unsigned(batch.size()), r.body.c_str());  // {accepted, duplicates}
        break;
      case sc::SendOutcome::kSplit:
        g_split_until_seq = batch.back().seq;
        log_w("batch rejected with HTTP %d, resending one by one", r.status);
        break;
      case sc::SendOutcome::kDrop:
        // Per protocol this request can never succeed (auth, validation...).
        logRejection("readings", r);
        for (const sc::Reading& rd : batch) g_queue.discard(rd.seq);
        break;
      case sc::SendOutcome::kRetry:
        *retry_after_ms = r.retry_after_ms;
        log_w("readings upload failed (%d), will retry", r.status);
        return false;
    }
  }
  return true;
}

bool uploadClips(uint32_t* retry_after_ms) {
  for (int n = 0; n < kMaxClipsPerCycle; ++n) {
    const sc::SeqQueue::Item* item = g_queue.oldest_of_kind(kItemClip);
    if (item == nullptr) return true;
    const uint32_t seq = item->seq;
    const String path = clipPath(seq);

    File f = LittleFS.open(path, FILE_READ);
    if (!f) {
      log_e("clip file %s missing, dropping", path.c_str());
      g_queue.discard(seq);
      continue;
    }
    HTTPClient http;
    beginRequest(http, apiUrl("/api/esp32/audio"), true);
    http.addHeader("Content-Type", "audio/wav");
    http.addHeader("X-Seq", String(seq));  // idempotency key on the server
    const int status = http.sendRequest("POST", &f, f.size());
    f.close();
    const HttpResult r = finishRequest(http, status);

    switch (sc::classify_response(r.status, 1)) {
      case sc::SendOutcome::kDelivered:
        g_queue.ack(seq);
        deleteClipFile(seq);
        log_i("clip %lu delivered: %s", (unsigned long)seq, r.body.c_str());  // {recording_id}
        break;
      case sc::SendOutcome::kSplit:  // not produced for a single item
      case sc::SendOutcome::kDrop:
        logRejection("clip", r);
        g_queue.discard(seq);
        deleteClipFile(seq);
        break;
      case sc::SendOutcome::kRetry:
        *retry_after_ms = r.retry_after_ms;
        log_w("clip upload failed (%d), will retry", r.status);
        return false;
    }
  }
  return true;
}

void runUploadCycle() {
  // Never put a seq on the wire that a reboot could hand out again.
  if (g_queue.seq_floor_persist_needed() && !persistQueue()) {
    g_next_upload_at = millis() + kUploadPeriodMs;
    return;
  }
  uint32_t retry_after_ms = 0;
  const bool ok = uploadReadings(&retry_after_ms) && uploadClips(&retry_after_ms);
  if (ok) {
    g_upload_backoff.reset();
    g_next_upload_at = millis() + kUploadPeriodMs;
  } else {
    const uint32_t delay_ms = g_upload_backoff.next_delay_ms(retry_after_ms);
    log_w("backing off %lu ms (attempt %lu)", (unsigned long)delay_ms, (unsigned long)g_upload_backoff.attempts());
    g_next_upload_at = millis() + delay_ms;
  }
}

// ---------------------------------------------------------------------------
// OTA
// ---------------------------------------------------------------------------

bool loadOtaRecord(OtaRecord* rec) {
  std::vector<uint8_t> blob;
  if (!g_storage.read(kOtaFile, &blob)) return false;
  JsonDocument doc;
  if (deserializeJson(doc, reinterpret_cast<const char*>(blob.data()), blob.size())) return false;
  rec->pending_version = doc["pending_version"] | "";
  rec->previous_version = doc["previous_version"] | "";
  rec->failed_version = doc["failed_version"] | "";
  rec->failed_attempts = doc["failed_attempts"] | 0u;
  return true;
}

bool saveOtaRecord(const OtaRecord& rec) {
  JsonDocument doc;
  doc["pending_version"] = rec.pending_version;
  doc["previous_version"] = rec.previous_version;
  doc["failed_version"] = rec.failed_version;
  doc["failed_attempts"] = rec.failed_attempts;
  String out;
  serializeJson(doc, out);
  return g_storage.write(kOtaFile, reinterpret_cast<const uint8_t*>(out.c_str()), out.length());
}

// Decides, once per boot, whether we are a new image on probation or an old
// image that the bootloader fell back to.
void handleBootOtaState() {
  loadOtaRecord(&g_ota);

  const esp_partition_t* running = esp_ota_get_running_partition();
  esp_ota_img_states_t state;
  g_pending_verify = esp_ota_get_state_partition(running, &state) == ESP_OK && state == ESP_OTA_IMG_PENDING_VERIFY;

  switch (sc::decide_boot_action(g_ota.pending_version.c_str(), g_ota.previous_version.c_str(), SC_FIRMWARE_VERSION,
                                 g_pending_verify)) {
    case sc::BootAction::kConfirmNewImage:
      g_probation = true;
      log_i("new image %s on probation: must report in within %lu s", SC_FIRMWARE_VERSION,
            (unsigned long)(kProbationMs / 1000));
      break;
    case sc::BootAction::kReportRollback:
      g_ota.failed_attempts = (g_ota.failed_version == g_ota.pending_version) ? g_ota.failed_attempts + 1 : 1;
      g_ota.failed_version = g_ota.pending_version;
      g_have_rollback_report = true;
      g_rollback_report_version = g_ota.pending_version;
      g_rollback_report_reason = "rolled back to " SC_FIRMWARE_VERSION ": new image did not report in";
      log_e("update to %s was rolled back (attempt %lu)", g_ota.failed_version.c_str(),
            (unsigned long)g_ota.failed_attempts);
      g_ota.pending_version = "";
      g_ota.previous_version = "";
      saveOtaRecord(g_ota);
      break;
    case sc::BootAction::kClearStale:
      g_ota.pending_version = "";
      g_ota.previous_version = "";
      saveOtaRecord(g_ota);
      break;
    case sc::BootAction::kNone:
      break;
  }
}

// The new image has reached the server: only now cancel the rollback.
void confirmNewImage() {
  if (!reportFirmwareStatus(SC_FIRMWARE_VERSION, sc::FirmwareState::kInstalled, "")) {
    g_next_confirm_at = millis() + 10 * 1000;
    return;
  }
  if (g_pending_verify) {
    const esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
    if (err != ESP_OK) log_e("esp_ota_mark_app_valid_cancel_rollback: %s", esp_err_to_name(err));
  }
  g_probation = false;
  g_pending_verify = false;
  g_ota.pending_version = "";
  g_ota.previous_version = "";
  if (g_ota.failed_version == SC_FIRMWARE_VERSION) {
    g_ota.failed_version = "";
    g_ota.failed_attempts = 0;
  }
  saveOtaRecord(g_ota);
  log_i("image %s confirmed", SC_FIRMWARE_VERSION);
}

void enforceProbationDeadline() {
  if (!g_probation || !g_pending_verify || millis() - g_boot_ms < kProbationMs) return;
  log_e("new image did not report in within %lu s, rolling back", (unsigned long)(kProbationMs / 1000));
  persistQueue();
  esp_ota_mark_app_invalid_rollback_and_reboot();
  ESP.restart();  // only reached if the call above failed; the bootloader still rolls back
}

// Stream sink for HTTPClient::writeToStream(): writes the image to the OTA
// partition through Update and hashes exactly the bytes written.
class OtaSink : public Stream {
 public:
  explicit OtaSink(uint32_t total) : total_(total) {}

  void skipNext(uint32_t n) { skip_ = n; }
  uint32_t written() const { return written_; }
  const String& error() const { return error_; }
  void finish(uint8_t digest[sc::Sha256::kDigestSize]) { sha_.finish(digest); }

  size_t write(const uint8_t* data, size_t len) override {
    size_t consumed = 0;
    if (skip_ > 0) {  // server ignored our Range: discard what we already have
      const size_t s = std::min<size_t>(skip_, len);
      skip_ -= s;
      data += s;
      len -= s;
      consumed = s;
    }
    if (len == 0) return consumed;
    if (written_ + len > total_) {
      error_ = "server sent more bytes than the manifest size";
      return 0;
    }
    if (Update.write(const_cast<uint8_t*>(data), len) != len) {
      error_ = String("flash write: ") + Update.errorString();
      return 0;
    }
    sha_.update(data, len);
    written_ += len;
    esp_task_wdt_reset();  // a slow link can take minutes
    return consumed + len;
  }
  size_t write(uint8_t b) override { return write(&b, 1); }
  int available() override { return 0; }
  int read() override { return -1; }
  int peek() override { return -1; }
  // No `override`: flush() is pure in some core versions and absent in others.
  void flush() {}

 private:
  uint32_t total_;
  uint32_t written_ = 0;
  uint32_t skip_ = 0;
  sc::Sha256 sha_;
  String error_;
};

void failUpdate(const sc::OtaManifest& m, const String& reason) {
  log_e("update to %s failed: %s", m.version.c_str(), reason.c_str());
  reportFirmwareStatus(m.version.c_str(), sc::FirmwareState::kFailed, reason.c_str());
}

void installUpdate(const sc::OtaManifest& m) {
  const String url = sc::resolve_url(g_config.server_url.c_str(), m.url.c_str()).c_str();
  if (url.isEmpty()) {
    failUpdate(m, "unusable url");
    return;
  }
  // The bearer token only goes to our own server, never to a CDN.
  const bool send_token = sc::same_origin(g_config.server_url.c_str(), url.c_str());

  reportFirmwareStatus(m.version.c_str(), sc::FirmwareState::kDownloading, "");
  persistQueue();  // we will be busy for a while and then reboot

  if (!Update.begin(m.size, U_FLASH)) {
    failUpdate(m, String("Update.begin: ") + Update.errorString());
    return;
  }
  OtaSink sink(m.size);
  sc::Backoff backoff(2000, 60 * 1000, g_rng);
  String reason = "download incomplete";

  for (int attempt = 0; attempt < kMaxDownloadAttempts && sink.written() < m.size; ++attempt) {
    if (attempt > 0) {
      delay(backoff.next_delay_ms());
      esp_task_wdt_reset();
    }
    const uint32_t offset = sink.written();
    HTTPClient http;
    beginRequest(http, url, send_token);
    if (offset > 0) http.addHeader("Range", "bytes=" + String(offset) + "-");  // resume
    const int status = http.GET();

    uint32_t skip = 0;
    std::string why;
    const sc::RangeAction action =
        sc::check_range_response(status, http.header("Content-Range").c_str(), offset, m.size, &skip, &why);
    if (action == sc::RangeAction::kFail) {
      http.end();
      reason = why.c_str();
      break;
    }
    if (action == sc::RangeAction::kRetry) {
      http.end();
      log_w("firmware download: %s", why.c_str());
      continue;
    }
    sink.skipNext(skip);
    const int rc = http.writeToStream(&sink);  // handles Content-Length and chunked bodies
    http.end();
    if (!sink.error().isEmpty()) {
      reason = sink.error();
      break;
    }
    if (rc < 0) log_w("firmware download interrupted at %lu bytes (%d)", (unsigned long)sink.written(), rc);
  }

  if (sink.written() != m.size) {
    Update.abort();
    failUpdate(m, reason + " (" + String(sink.written()) + "/" + String(m.size) + " bytes)");
    return;
  }
  uint8_t digest[sc::Sha256::kDigestSize];
  sink.finish(digest);
  if (!sc::sha256_matches_hex(digest, m.sha256.c_str())) {
    // Verified before Update.end(), so a corrupt or tampered image is never
    // made bootable.
    Update.abort();
    failUpdate(m, String("sha256 mismatch, got ") + sc::sha256_hex(digest).c_str());
    return;
  }
  if (!Update.end(true)) {  // checks the image header and switches the boot partition
    failUpdate(m, String("Update.end: ") + Update.errorString());
    return;
  }

  g_ota.pending_version = m.version.c_str();
  g_ota.previous_version = SC_FIRMWARE_VERSION;
  saveOtaRecord(g_ota);
  persistQueue();
  // "installed" is reported by the new image itself once it is up (that
  // report is what lets it cancel the rollback).
  log_i("update %s written and verified, rebooting", m.version.c_str());
  delay(500);
  ESP.restart();
}

void checkForUpdate() {
  const String url = apiUrl("/api/esp32/firmware") + "?version=" + sc::url_encode(SC_FIRMWARE_VERSION).c_str() +
                     "&hw=" + sc::url_encode(g_config.hw_model.c_str()).c_str();
  HTTPClient http;
  beginRequest(http, url, true);
  const int status = http.GET();
  const HttpResult r = finishRequest(http, status);

  if (status == 204) {
    log_i("firmware %s is up to date", SC_FIRMWARE_VERSION);
    return;
  }
  if (status != 200) {
    log_w("firmware check failed: %d %s", status, r.body.c_str());
    g_next_ota_check_at = millis() + kOtaRetryAfterErrorMs;
    return;
  }

  JsonDocument doc;
  if (deserializeJson(doc, r.body)) {
    log_e("firmware check: unparseable manifest");
    return;
  }
  sc::OtaManifest m;
  m.version = doc["version"] | "";
  m.size = doc["size"] | 0u;
  m.sha256 = doc["sha256"] | "";
  m.url = doc["url"] | "";

  const esp_partition_t* target = esp_ota_get_next_update_partition(nullptr);
  const uint32_t max_size = target != nullptr ? target->size : 0;
  sc::OtaHistory history;
  history.failed_version = g_ota.failed_version.c_str();
  history.failed_attempts = g_ota.failed_attempts;
  std::string reason;
  switch (sc::evaluate_manifest(m, SC_FIRMWARE_VERSION, history, kMaxOtaAttemptsPerVersion, max_size, &reason)) {
    case sc::OtaVerdict::kInstall:
      installUpdate(m);  // reboots on success
      break;
    case sc::OtaVerdict::kSkip:
      log_i("not installing %s: %s", m.version.c_str(), reason.c_str());
      break;
    case sc::OtaVerdict::kReject:
      failUpdate(m, reason.c_str());
      break;
  }
}

// ---------------------------------------------------------------------------
// Wi-Fi
// ---------------------------------------------------------------------------

void startWifi() {
  WiFi.persistent(false);  // credentials come from provision.json, not NVS
  WiFi.mode(WIFI_STA);
  WiFi.setAutoReconnect(true);
  WiFi.begin(g_config.wifi_ssid.c_str(), g_config.wifi_password.c_str());
  g_last_wifi_attempt = millis();
}

// Auto-reconnect covers short drops; after an AP reboot the driver can give
// up, so restart the association ourselves every kWifiRetryMs.
void maintainWifi() {
  if (WiFi.status() == WL_CONNECTED) return;
  if (millis() - g_last_wifi_attempt < kWifiRetryMs) return;
  log_w("Wi-Fi down, reconnecting");
  WiFi.disconnect();
  WiFi.begin(g_config.wifi_ssid.c_str(), g_config.wifi_password.c_str());
  g_last_wifi_attempt = millis();
}

// ---------------------------------------------------------------------------
// Arduino entry points
// ---------------------------------------------------------------------------

void setup() {
  Serial.begin(115200);
  g_boot_ms = millis();
  log_i("SignalCraft firmware %s", SC_FIRMWARE_VERSION);
#ifndef CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
  log_w("bootloader built without app rollback: a bad update will not be undone automatically");
#endif

  if (!LittleFS.begin(true)) {
    log_e("LittleFS mount failed");
  }
  String error;
  while (!loadProvisioning(&g_config, &error)) {
    // Nothing useful can be done without a server and credentials; keep
    // saying why so it shows up on the serial console.
    log_e("not provisioned: %s", error.c_str());
    delay(30 * 1000);
  }
  if (g_config.server_url.startsWith("https://")) {
    g_tls.setCACert(g_config.ca_cert.c_str());
  } else {
    log_w("server_url is plain http: for lab use only, the token travels in clear");
  }

  g_prefs.begin("signalcraft", false);
  loadQueue();
  removeOrphanClips();
  handleBootOtaState();

  setupSensors();
  g_i2s_ok = setupI2s();
  if (!g_i2s_ok) log_e("I2S init failed, no audio clips");

  startWifi();
  configTime(0, 0, g_config.ntp_server.c_str());  // UTC; SNTP syncs once Wi-Fi is up

  // Watch the loop task: a hang (stuck TLS handshake, flash problem) resets
  // the board, which on a probation image also means rollback.
  esp_task_wdt_init(kWdtTimeoutS, true);
  esp_task_wdt_add(nullptr);

  const uint32_t now = millis();
  g_next_reading_at = now;
  g_next_upload_at = now + kUploadPeriodMs;
  g_next_clip_at = now + kFirstClipDelayMs;
  g_next_ota_check_at = now + kFirstOtaCheckDelayMs;
}

void loop() {
  esp_task_wdt_reset();

  if (sc::time_reached(millis(), g_next_reading_at)) {
    takeReading();
    g_next_reading_at = sc::next_deadline(g_next_reading_at, kReadingPeriodMs, millis());
  }
  if (sc::time_reached(millis(), g_next_clip_at)) {
    recordClip();
    g_next_clip_at = sc::next_deadline(g_next_clip_at, kClipPeriodMs, millis());
  }

  maintainWifi();
  const bool online = WiFi.status() == WL_CONNECTED;

  if (online && g_probation && sc::time_reached(millis(), g_next_confirm_at)) confirmNewImage();
  if (online && g_have_rollback_report && sc::time_reached(millis(), g_next_rollback_report_at)) {
    if (reportFirmwareStatus(g_rollback_report_version.c_str(), sc::FirmwareState::kFailed,
                             g_rollback_report_reason.c_str())) {
      g_have_rollback_report = false;
    } else {
      g_next_rollback_report_at = millis() + 60 * 1000;
    }
  }

  if (sc::time_reached(millis(), g_next_upload_at)) {
    if (online) {
      runUploadCycle();
    } else {
      g_next_upload_at = millis() + kUploadPeriodMs;
    }
    // Offline or partially delivered: keep the backlog across power cuts.
    if (g_queue.needs_save()) persistQueue();
  }

  // A new image finishes its probation before it may install another.
  if (online && !g_probation && sc::time_reached(millis(), g_next_ota_check_at)) {
    g_next_ota_check_at = millis() + kOtaCheckPeriodMs + g_rng.next_u32() % kOtaCheckJitterMs;
    checkForUpdate();
  }

  enforceProbationDeadline();
  delay(10);
}
