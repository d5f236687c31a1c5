// Optional sensors besides the microphone, probe and clamp: the conversions
// and windowing that turn raw bytes and ADC millivolts into the metrics the
// server accepts (vibration_rms_g, pressure_bar, humidity_pct). The I2C and
// ADC calls themselves live in src/main.cpp; everything here is plain C++ so
// it is unit-tested on the host.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dsp.h"

namespace sc {

// ---------------------------------------------------------------------------
// Accelerometer (vibration)
// ---------------------------------------------------------------------------

enum class AccelModel : uint8_t { kNone, kAdxl345, kMpu6050 };

// I2C addresses and identity registers, probed at boot in this order.
constexpr uint8_t kAdxl345Address = 0x53;      // SDO/ALT tied low
constexpr uint8_t kAdxl345AltAddress = 0x1D;   // SDO/ALT tied high
constexpr uint8_t kAdxl345DevIdReg = 0x00;
constexpr uint8_t kAdxl345DevId = 0xE5;
constexpr uint8_t kAdxl345DataReg = 0x32;      // DATAX0..DATAZ1, little-endian
constexpr uint8_t kMpu6050Address = 0x68;      // AD0 low
constexpr uint8_t kMpu6050AltAddress = 0x69;   // AD0 high
constexpr uint8_t kMpu6050WhoAmIReg = 0x75;
constexpr uint8_t kMpu6050DataReg = 0x3B;      // ACCEL_XOUT_H..ACCEL_ZOUT_L, big-endian

// Which accelerometer answers with `id` to its identity register read at
// `address`; kNone for anything else (another I2C chip, a bus fault 0xFF).
// The MPU6050's WHO_AM_I is 0x68 whatever AD0 is; clones (MPU6500 0x70,
// MPU9250 0x71) share its accelerometer registers and scale.
AccelModel identify_accelerometer(uint8_t address, uint8_t id);

// Scale in g per count: ADXL345 in FULL_RES mode is 3.9 mg/LSB at every range
// (we use +-16 g); the MPU6050 at +-8 g (headroom for gravity plus impacts)
// is 4096 LSB/g.
double accel_g_per_count(AccelModel model);

// One sample (x, y, z) in g from the 6 data bytes the chip returns starting
// at its data register. False for kNone.
bool decode_accel_sample(AccelModel model, const uint8_t raw[6], double g[3]);

// Vibration RMS over a window, in g, with gravity removed: the mean of each
// axis over the window (gravity plus any tilt, constant over a window) is
// taken out, and the RMS of what remains is combined over the three axes,
// sqrt(rms_x^2 + rms_y^2 + rms_z^2), so the result does not depend on how
// the sensor is mounted.
class VibrationWindow {
 public:
  // A window with fewer samples than this yields NaN (I2C errors, a stall).
  explicit VibrationWindow(size_t min_samples = 64) : min_samples_(min_samples) {}
  void add(const double g[3]);
  void reset();
  size_t count() const { return axes_[0].count(); }
  // NaN when the window is too short.
  double rms_g() const;

 private:
  size_t min_samples_;
  RmsAccumulator axes_[3];
};

// ---------------------------------------------------------------------------
// Discharge-pressure transducer (0.5-4.5 V through a divider to the ADC)
// ---------------------------------------------------------------------------

struct PressureCalibration {
  double divider_ratio = 2.0;  // sensor volts per ADC volt: (R_top + R_bottom) / R_bottom
  double v_zero = 0.5;         // sensor output at p_min_bar
  double v_full = 4.5;         // sensor output at p_max_bar
  double p_min_bar = 0.0;
  double p_max_bar = 30.0;
  double offset_bar = 0.0;     // zero trim, measured with the line open to air
  // Outside [v_open_below, v_short_above] the wiring is broken: a cut wire or
  // a short to ground reads ~0 V through the divider's bottom resistor, a
  // short to the 5 V supply reads ~5 V. The sensor is then reported absent.
  double v_open_below = 0.25;
  double v_short_above = 4.75;
};

// Plausible calibration (finite, v_full > v_zero, p_max > p_min, divider >= 1,
// fault thresholds outside the signal span).
bool pressure_calibration_valid(const PressureCalibration& cal);

// Gauge pressure in bar from the ADC pin voltage in millivolts (a window
// average). NaN when the sensor voltage shows an open or shorted wire. Inside
// the fault thresholds but just past the 0.5/4.5 V span (sensor tolerance),
// the value is clamped to [p_min_bar, p_max_bar] before the offset.
double pressure_bar_from_adc_mv(double adc_mv, const PressureCalibration& cal);

// ---------------------------------------------------------------------------
// SHT3x humidity sensor
// ---------------------------------------------------------------------------

constexpr uint8_t kSht3xAddress = 0x44;     // ADDR low
constexpr uint8_t kSht3xAltAddress = 0x45;  // ADDR high
constexpr uint16_t kSht3xMeasureHighRep = 0x2400;  // single shot, no clock stretching, 15 ms
constexpr uint16_t kSht3xReadStatus = 0xF32D;
constexpr uint16_t kSht3xSoftReset = 0x30A2;

// CRC-8 of the SHT3x: polynomial 0x31, init 0xFF, no reflection (0xBEEF -> 0x92).
uint8_t sht3x_crc8(const uint8_t* data, size_t n);

// The 6-byte measurement frame: T msb, T lsb, CRC, RH msb, RH lsb, CRC.
// False (outputs untouched) if either CRC is wrong, e.g. a noisy bus or no
// sensor (0xFF bytes). RH is clamped to 0-100 %.
bool sht3x_decode(const uint8_t frame[6], double* temperature_c, double* humidity_pct);

// The 3-byte status-register reply (used to detect the sensor at boot):
// true if its CRC is right.
bool sht3x_status_valid(const uint8_t reply[3], uint16_t* status);

}  // namespace sc
