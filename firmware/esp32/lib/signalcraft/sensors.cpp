#include "sensors.h"

#include <cmath>
#include <limits>

namespace sc {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int16_t le16(const uint8_t* p) { return int16_t(uint16_t(p[0]) | (uint16_t(p[1]) << 8)); }
int16_t be16(const uint8_t* p) { return int16_t((uint16_t(p[0]) << 8) | uint16_t(p[1])); }

}  // namespace

AccelModel identify_accelerometer(uint8_t address, uint8_t id) {
  if ((address == kAdxl345Address || address == kAdxl345AltAddress) && id == kAdxl345DevId) {
    return AccelModel::kAdxl345;
  }
  if ((address == kMpu6050Address || address == kMpu6050AltAddress) && (id == 0x68 || id == 0x70 || id == 0x71)) {
    return AccelModel::kMpu6050;
  }
  return AccelModel::kNone;
}

double accel_g_per_count(AccelModel model) {
  switch (model) {
    case AccelModel::kAdxl345: return 0.0039;
    case AccelModel::kMpu6050: return 1.0 / 4096.0;
    default: return 0.0;
  }
}

bool decode_accel_sample(AccelModel model, const uint8_t raw[6], double g[3]) {
  const double scale = accel_g_per_count(model);
  if (model == AccelModel::kAdxl345) {
    for (int i = 0; i < 3; ++i) g[i] = le16(raw + 2 * i) * scale;
    return true;
  }
  if (model == AccelModel::kMpu6050) {
    for (int i = 0; i < 3; ++i) g[i] = be16(raw + 2 * i) * scale;
    return true;
  }
  return false;
}

void VibrationWindow::add(const double g[3]) {
  for (int i = 0; i < 3; ++i) axes_[i].add(g[i]);
}

void VibrationWindow::reset() {
  for (RmsAccumulator& a : axes_) a.reset();
}

double VibrationWindow::rms_g() const {
  if (count() < min_samples_ || count() == 0) return kNaN;
  double sum = 0.0;
  for (const RmsAccumulator& a : axes_) sum += a.ac_rms() * a.ac_rms();
  return std::sqrt(sum);
}

bool pressure_calibration_valid(const PressureCalibration& c) {
  const double vals[] = {c.divider_ratio, c.v_zero,       c.v_full,        c.p_min_bar,
                         c.p_max_bar,     c.offset_bar,   c.v_open_below,  c.v_short_above};
  for (double v : vals) {
    if (!std::isfinite(v)) return false;
  }
  return c.divider_ratio >= 1.0 && c.v_full > c.v_zero && c.p_max_bar > c.p_min_bar && c.v_open_below >= 0.0 &&
         c.v_open_below < c.v_zero && c.v_short_above > c.v_full;
}

double pressure_bar_from_adc_mv(double adc_mv, const PressureCalibration& cal) {
  if (!std::isfinite(adc_mv) || !pressure_calibration_valid(cal)) return kNaN;
  const double v = adc_mv / 1000.0 * cal.divider_ratio;  // volts at the transducer output
  if (v < cal.v_open_below || v > cal.v_short_above) return kNaN;
  double p = cal.p_min_bar + (v - cal.v_zero) * (cal.p_max_bar - cal.p_min_bar) / (cal.v_full - cal.v_zero);
  if (p < cal.p_min_bar) p = cal.p_min_bar;
  if (p > cal.p_max_bar) p = cal.p_max_bar;
  return p + cal.offset_bar;
}

uint8_t sht3x_crc8(const uint8_t* data, size_t n) {
  uint8_t crc = 0xFF;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x80) ? uint8_t((crc << 1) ^ 0x31) : uint8_t(crc << 1);
  }
  return crc;
}

bool sht3x_decode(const uint8_t frame[6], double* temperature_c, double* humidity_pct) {
  if (sht3x_crc8(frame, 2) != frame[2] || sht3x_crc8(frame + 3, 2) != frame[5]) return false;
  const double raw_t = double((uint16_t(frame[0]) << 8) | frame[1]);
  const double raw_rh = double((uint16_t(frame[3]) << 8) | frame[4]);
  *temperature_c = -45.0 + 175.0 * raw_t / 65535.0;
  double rh = 100.0 * raw_rh / 65535.0;
  if (rh > 100.0) rh = 100.0;
  *humidity_pct = rh;
  return true;
}

bool sht3x_status_valid(const uint8_t reply[3], uint16_t* status) {
  if (sht3x_crc8(reply, 2) != reply[2]) return false;
  *status = uint16_t((uint16_t(reply[0]) << 8) | reply[1]);
  return true;
}

}  // namespace sc
