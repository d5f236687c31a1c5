#include <cmath>

#include "sensors.h"
#include "test_framework.h"

namespace {

const double kPi = 3.14159265358979323846;

bool near(double a, double b, double tol) { return std::fabs(a - b) <= tol; }

}  // namespace

TEST(sensors_accelerometer_identified_by_address_and_id) {
  CHECK(sc::identify_accelerometer(0x53, 0xE5) == sc::AccelModel::kAdxl345);
  CHECK(sc::identify_accelerometer(0x1D, 0xE5) == sc::AccelModel::kAdxl345);
  CHECK(sc::identify_accelerometer(0x68, 0x68) == sc::AccelModel::kMpu6050);
  CHECK(sc::identify_accelerometer(0x69, 0x68) == sc::AccelModel::kMpu6050);  // WHO_AM_I ignores AD0
  CHECK(sc::identify_accelerometer(0x68, 0x70) == sc::AccelModel::kMpu6050);  // MPU6500
  CHECK(sc::identify_accelerometer(0x53, 0xFF) == sc::AccelModel::kNone);     // floating bus
  CHECK(sc::identify_accelerometer(0x68, 0xE5) == sc::AccelModel::kNone);     // wrong chip at that address
  CHECK(sc::identify_accelerometer(0x44, 0x68) == sc::AccelModel::kNone);
}

TEST(sensors_accel_samples_decoded_with_each_chips_byte_order_and_scale) {
  // ADXL345: little-endian, 3.9 mg/LSB. 256 counts = 0.9984 g, -256 on y.
  const uint8_t adxl[6] = {0x00, 0x01, 0x00, 0xFF, 0x01, 0x00};
  double g[3];
  CHECK(sc::decode_accel_sample(sc::AccelModel::kAdxl345, adxl, g));
  CHECK(near(g[0], 0.9984, 1e-12));
  CHECK(near(g[1], -0.9984, 1e-12));
  CHECK(near(g[2], 0.0039, 1e-12));
  // MPU6050 at +-8 g: big-endian, 4096 LSB/g.
  const uint8_t mpu[6] = {0x10, 0x00, 0xF0, 0x00, 0x7F, 0xFF};
  CHECK(sc::decode_accel_sample(sc::AccelModel::kMpu6050, mpu, g));
  CHECK_EQ(g[0], 1.0);
  CHECK_EQ(g[1], -1.0);
  CHECK(near(g[2], 32767.0 / 4096.0, 1e-12));
  CHECK(!sc::decode_accel_sample(sc::AccelModel::kNone, mpu, g));
}

TEST(sensors_vibration_rms_removes_gravity_whatever_the_mounting) {
  // 0.3 g peak at 50 Hz along the sensor's z axis, sampled at 1 kHz for 0.5 s.
  const double amp = 0.3;
  const double expected = amp / std::sqrt(2.0);
  // Gravity straight down z, and tilted so it spreads over all three axes.
  const double gravity[2][3] = {{0.0, 0.0, 1.0}, {0.5, -0.5, 0.7071}};
  for (const auto& grav : gravity) {
    sc::VibrationWindow w;
    for (int i = 0; i < 500; ++i) {
      const double s = amp * std::sin(2 * kPi * 50.0 * i / 1000.0);
      const double g[3] = {grav[0], grav[1], grav[2] + s};
      w.add(g);
    }
    CHECK_EQ(w.count(), size_t(500));
    CHECK(near(w.rms_g(), expected, 1e-9));
  }
  // The same vibration split over two axes gives the same magnitude.
  sc::VibrationWindow w;
  for (int i = 0; i < 500; ++i) {
    const double s = amp * std::sin(2 * kPi * 50.0 * i / 1000.0);
    const double g[3] = {s * 0.6, s * 0.8, 1.0};
    w.add(g);
  }
  CHECK(near(w.rms_g(), expected, 1e-9));
}

TEST(sensors_vibration_of_a_still_sensor_is_zero_and_short_window_is_nan) {
  sc::VibrationWindow w(64);
  const double still[3] = {0.01, -0.02, 0.98};
  for (int i = 0; i < 63; ++i) w.add(still);
  CHECK(std::isnan(w.rms_g()));  // too few samples
  w.add(still);
  CHECK(w.rms_g() < 1e-9);
  w.reset();
  CHECK_EQ(w.count(), size_t(0));
  CHECK(std::isnan(w.rms_g()));
}

TEST(sensors_pressure_linear_over_the_half_to_four_and_a_half_volt_span) {
  sc::PressureCalibration cal;  // 0-30 bar, divider 2:1
  CHECK(sc::pressure_calibration_valid(cal));
  CHECK(near(sc::pressure_bar_from_adc_mv(250.0, cal), 0.0, 1e-9));    // 0.5 V at the sensor
  CHECK(near(sc::pressure_bar_from_adc_mv(1250.0, cal), 15.0, 1e-9));  // 2.5 V
  CHECK(near(sc::pressure_bar_from_adc_mv(2250.0, cal), 30.0, 1e-9));  // 4.5 V
  CHECK(near(sc::pressure_bar_from_adc_mv(650.0, cal), 6.0, 1e-9));
  // Sensor tolerance just outside the span is clamped, not extrapolated.
  CHECK_EQ(sc::pressure_bar_from_adc_mv(200.0, cal), 0.0);   // 0.4 V
  CHECK_EQ(sc::pressure_bar_from_adc_mv(2300.0, cal), 30.0);  // 4.6 V
  cal.offset_bar = -0.2;
  CHECK(near(sc::pressure_bar_from_adc_mv(1250.0, cal), 14.8, 1e-9));
  // Another range and divider: 0-16 bar, 10k over 15k (5/3).
  sc::PressureCalibration c16;
  c16.p_max_bar = 16.0;
  c16.divider_ratio = 25.0 / 15.0;
  CHECK(near(sc::pressure_bar_from_adc_mv(1500.0, c16), 8.0, 1e-9));  // 2.5 V
}

TEST(sensors_pressure_open_or_shorted_wire_is_absent) {
  sc::PressureCalibration cal;
  CHECK(std::isnan(sc::pressure_bar_from_adc_mv(0.0, cal)));     // cut wire / short to ground
  CHECK(std::isnan(sc::pressure_bar_from_adc_mv(100.0, cal)));   // 0.2 V
  CHECK(std::isnan(sc::pressure_bar_from_adc_mv(2500.0, cal)));  // 5 V: output shorted to supply
  CHECK(std::isnan(sc::pressure_bar_from_adc_mv(NAN, cal)));
  CHECK(!std::isnan(sc::pressure_bar_from_adc_mv(130.0, cal)));  // 0.26 V: still a sensor
}

TEST(sensors_pressure_bad_calibration_gives_no_value) {
  sc::PressureCalibration cal;
  cal.v_full = cal.v_zero;
  CHECK(!sc::pressure_calibration_valid(cal));
  CHECK(std::isnan(sc::pressure_bar_from_adc_mv(1250.0, cal)));
  cal = sc::PressureCalibration();
  cal.divider_ratio = 0.5;
  CHECK(!sc::pressure_calibration_valid(cal));
  cal = sc::PressureCalibration();
  cal.p_max_bar = NAN;
  CHECK(!sc::pressure_calibration_valid(cal));
  cal = sc::PressureCalibration();
  cal.v_short_above = 4.0;  // inside the signal span
  CHECK(!sc::pressure_calibration_valid(cal));
}

TEST(sensors_sht3x_crc_matches_the_datasheet) {
  const uint8_t beef[2] = {0xBE, 0xEF};
  CHECK_EQ(sc::sht3x_crc8(beef, 2), uint8_t(0x92));
  const uint8_t ones[2] = {0xFF, 0xFF};
  CHECK_EQ(sc::sht3x_crc8(ones, 2), uint8_t(0xAC));
}

TEST(sensors_sht3x_frame_decoded_and_checked) {
  // T raw 0x6666 -> 25.0 C, RH raw 0x8000 -> 50.0008 %.
  uint8_t frame[6] = {0x66, 0x66, 0x93, 0x80, 0x00, 0xA2};
  double t = 0, rh = 0;
  CHECK(sc::sht3x_decode(frame, &t, &rh));
  CHECK(near(t, -45.0 + 175.0 * 0x6666 / 65535.0, 1e-12));
  CHECK(near(t, 25.0, 0.01));
  CHECK(near(rh, 50.0, 0.01));

  // One flipped bit anywhere in a value or its CRC is refused, outputs untouched.
  for (int byte = 0; byte < 6; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      uint8_t bad[6];
      for (int i = 0; i < 6; ++i) bad[i] = frame[i];
      bad[byte] ^= uint8_t(1u << bit);
      double t2 = -1, rh2 = -1;
      CHECK(!sc::sht3x_decode(bad, &t2, &rh2));
      CHECK_EQ(t2, -1.0);
      CHECK_EQ(rh2, -1.0);
    }
  }
  // A missing sensor reads as 0xFF bytes: the CRC of 0xFFFF is 0xAC, not 0xFF.
  const uint8_t floating[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  CHECK(!sc::sht3x_decode(floating, &t, &rh));
}

TEST(sensors_sht3x_humidity_extremes_and_status) {
  const uint8_t full[6] = {0x66, 0x66, 0x93, 0xFF, 0xFF, 0xAC};
  double t = 0, rh = 0;
  CHECK(sc::sht3x_decode(full, &t, &rh));
  CHECK_EQ(rh, 100.0);
  const uint8_t status_ok[3] = {0x80, 0x10, 0xE1};
  uint16_t status = 0;
  CHECK(sc::sht3x_status_valid(status_ok, &status));
  CHECK_EQ(status, uint16_t(0x8010));
  const uint8_t status_bad[3] = {0x80, 0x10, 0xE0};
  CHECK(!sc::sht3x_status_valid(status_bad, &status));
}
