"""A simulated ESP32: posts sensor readings (and later audio clips) to the server
through the same HTTP API real devices use, with sequence numbers, batching and
retries with exponential backoff and jitter.

Each device follows a condition profile so the demo fleet looks like a real one:
most run normally, some drift toward a fault. Each also has a sensor kit, as real
devices do: the firmware sends a metric only when its sensor is fitted and reads
correctly (firmware/esp32/README.md), so a simulated device omits the metrics of the
sensors it lacks."""

from __future__ import annotations

import hashlib
import io
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field

import requests

log = logging.getLogger("signalcraft.simulator")

PROFILES = ("normal", "normal", "normal", "bearing_wear", "normal", "valve_leak",
            "normal", "overheating")
# What each profile sounds like: a demo condition of ml.demo.demo_clip.
PROFILE_SOUND = {"normal": "normal", "bearing_wear": "bearing", "valve_leak": "valve_leak",
                 "overheating": "electrical_hum", "belt_slip": "belt_slip"}
HW_MODEL = "esp32-inmp441"

# The metrics the firmware sends, named as in firmware/esp32/lib/signalcraft/payload.cpp
# (tests check both lists and the server's agree).
FIRMWARE_METRICS = ("temperature_c", "current_a", "pressure_bar", "vibration_rms_g",
                    "humidity_pct")
FULL_KIT = frozenset(FIRMWARE_METRICS)
# Demo fleets mix installations: every device has the probe and the clamp, most an
# accelerometer; some lack the pressure transducer or the SHT3x.
SENSOR_KITS = (
    FULL_KIT,
    FULL_KIT,
    FULL_KIT - {"humidity_pct"},
    frozenset({"temperature_c", "current_a", "vibration_rms_g"}),
)
# The firmware's calibrated pressure range (pressure_min_bar/pressure_max_bar default):
# a transducer reading is clamped into it.
PRESSURE_RANGE_BAR = (0.0, 30.0)


def sensor_kit(index: int) -> frozenset[str]:
    """The sensors fitted to the index-th device of a demo fleet."""
    return SENSOR_KITS[index % len(SENSOR_KITS)]


@dataclass
class DeviceState:
    token: str
    name: str
    profile: str = "normal"
    seed: int = 0
    # Sequence numbers continue across restarts: milliseconds since the epoch at
    # start, then +1 per reading, never reused.
    seq: int = field(default_factory=lambda: int(time.time() * 1000))
    started: float = field(default_factory=time.time)
    pending: list[dict] = field(default_factory=list)
    firmware_version: str = "1.0.0"
    clips_sent: int = 0
    # A device's first clips teach the server its normal: faults develop only after
    # ``healthy_clips`` clips, as on a machine that wears over time.
    healthy_clips: int = 24
    # Metrics of the sensors fitted to this device (see FIRMWARE_METRICS).
    sensors: frozenset[str] = FULL_KIT
    # ... and then gradually: the fault's severity ramps from 0 to 1 over this long
    # (never a jump from healthy to critical).
    ramp_hours: float = 6.0
    fault_started: float | None = None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def sample_metrics(state: DeviceState, now: float) -> dict[str, float]:
    """Plausible sensor values for a compressor cycling on and off, with the drift of
    the device's profile, for the sensors the device has. Deterministic for a given
    (seed, time)."""
    rng = random.Random(hash((state.seed, int(now))))
    phase = (now / 600.0 + state.seed * 0.37) % 1.0
    running = phase < 0.7  # runs ~70% of a 10-minute cycle
    hours = max(0.0, (now - state.started) / 3600.0)
    temp = 4.0 + 1.5 * math.sin(2 * math.pi * now / 3600.0 + state.seed) + rng.gauss(0, 0.15)
    current = (11.0 + rng.gauss(0, 0.3)) if running else (0.4 + abs(rng.gauss(0, 0.05)))
    pressure = (7.8 + rng.gauss(0, 0.1)) if running else (5.2 + rng.gauss(0, 0.1))
    vibration = (0.18 + abs(rng.gauss(0, 0.02))) if running else (0.02 + abs(rng.gauss(0, 0.005)))
    humidity = 62.0 + 5 * math.sin(2 * math.pi * now / 7200.0) + rng.gauss(0, 0.5)
    if state.profile == "bearing_wear":
        vibration *= 1.8 + 0.2 * min(hours, 5)
        temp += 1.5
    elif state.profile == "valve_leak":
        pressure -= 1.2
        current *= 1.12
    elif state.profile == "overheating":
        temp += 9.0 + 0.5 * min(hours, 5)
        current *= 1.2
    low, high = PRESSURE_RANGE_BAR
    values = {
        "temperature_c": round(temp, 2),
        "current_a": round(max(current, 0.0), 2),
        "pressure_bar": round(min(max(pressure, low), high), 2),
        "vibration_rms_g": round(max(vibration, 0.0), 4),
        "humidity_pct": round(min(max(humidity, 0.0), 100.0), 1),
    }
    return {name: value for name, value in values.items() if name in state.sensors}


def fault_severity(state: DeviceState, now: float) -> float:
    """0 until the device's healthy clips are sent, then rising linearly to 1 over
    ``ramp_hours``: a fault develops, it does not appear."""
    if state.profile not in PROFILE_SOUND or PROFILE_SOUND[state.profile] == "normal":
        return 0.0
    if state.clips_sent < state.healthy_clips:
        return 0.0
    if state.fault_started is None:
        state.fault_started = now
    hours = max(0.0, (now - state.fault_started) / 3600.0)
    return min(1.0, hours / max(state.ramp_hours, 1e-6))


def clip_wav(state: DeviceState, now: float) -> bytes:
    """A 5 s, 16 kHz, 16-bit WAV of the device's condition, built from real compressor
    recordings with the profile's (synthetic) fault mixed in once it has developed."""
    label = PROFILE_SOUND.get(state.profile, "normal")
    severity = fault_severity(state, now)
    if state.clips_sent < state.healthy_clips or severity <= 0.0:
        label, severity = "normal", 1.0
    return sound_wav(label, state.seed, now, severity)


def sound_wav(label: str, seed: int, now: float, severity: float = 1.0) -> bytes:
    """The WAV the device of ``seed`` sends at ``now`` when it sounds like ``label`` (a
    demo condition of ml.demo.demo_clip) at ``severity``: what ``clip_wav`` posts."""
    import soundfile as sf

    from ml.demo import demo_clip

    samples, rate = demo_clip(label, rng_seed=hash((seed, int(now))) & 0x7FFFFFFF,
                              severity=severity)
    buf = io.BytesIO()
    sf.write(buf, samples, rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0,
                  rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter."""
    rng = rng or random
    return rng.uniform(0, min(cap, base * (2 ** attempt)))


class Simulator:
    def __init__(self, url: str, devices: list[DeviceState], reading_interval: float = 2.0,
                 batch_every: int = 1, timeout: float = 5.0, clip_interval: float | None = 60.0,
                 firmware_interval: float | None = 600.0) -> None:
        self.url = url.rstrip("/")
        self.devices = devices
        self.reading_interval = reading_interval
        self.batch_every = max(1, batch_every)
        self.timeout = timeout
        self.clip_interval = clip_interval
        self.firmware_interval = firmware_interval
        self.clips = 0
        self._next_clip: dict[int, float] = {}
        self._next_firmware: dict[int, float] = {}
        self.stop_event = threading.Event()
        self.http = requests.Session()
        self.sent = 0
        self.errors = 0

    def post_readings(self, device: DeviceState) -> bool:
        """Send the device's pending readings; keep them for a retry on failure."""
        if not device.pending:
            return True
        try:
            resp = self.http.post(
                f"{self.url}/api/esp32/data",
                json=device.pending,
                headers={"Authorization": f"Bearer {device.token}"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            log.debug("%s: %s", device.name, exc)
            self.errors += 1
            return False
        if resp.status_code == 201:
            self.sent += len(device.pending)
            device.pending.clear()
            return True
        if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
            # The server will never accept these: drop them, as the firmware does.
            log.warning("%s: readings refused (%s): %s", device.name, resp.status_code,
                        resp.text[:200])
            device.pending.clear()
            self.errors += 1
            return True
        self.errors += 1
        return False

    def _headers(self, device: DeviceState) -> dict[str, str]:
        return {"Authorization": f"Bearer {device.token}"}

    def post_clip(self, device: DeviceState, now: float, max_attempts: int = 4) -> bool:
        """One clip, retried with backoff under the same seq (the server stores it once)."""
        wav = clip_wav(device, now)
        seq = device.next_seq()
        for attempt in range(max_attempts):
            try:
                resp = self.http.post(
                    f"{self.url}/api/esp32/audio", data=wav,
                    headers={**self._headers(device), "Content-Type": "audio/wav",
                             "X-Seq": str(seq), "X-Timestamp": str(int(now * 1000))},
                    timeout=self.timeout * 3)
            except requests.RequestException:
                resp = None
            if resp is not None and resp.status_code == 202:
                device.clips_sent += 1
                self.clips += 1
                return True
            if resp is not None and 400 <= resp.status_code < 500 and resp.status_code != 429:
                log.warning("%s: clip refused (%s): %s", device.name, resp.status_code,
                            resp.text[:200])
                return False
            self.errors += 1
            if self.stop_event.wait(backoff_delay(attempt)):
                return False
        return False

    def check_firmware(self, device: DeviceState) -> str | None:
        """Ask for an update; download it in two ranged parts (as an interrupted
        download resumes), verify sha256, report the outcome. Returns the new version."""
        try:
            resp = self.http.get(f"{self.url}/api/esp32/firmware",
                                 params={"version": device.firmware_version, "hw": HW_MODEL},
                                 headers=self._headers(device), timeout=self.timeout)
            if resp.status_code != 200:
                return None
            offer = resp.json()
            self._report(device, offer["version"], "downloading")
            half = offer["size"] // 2
            first = self.http.get(self.url + offer["url"], timeout=self.timeout * 3,
                                  headers={**self._headers(device), "Range": f"bytes=0-{half - 1}"})
            rest = self.http.get(self.url + offer["url"], timeout=self.timeout * 3,
                                 headers={**self._headers(device), "Range": f"bytes={half}-"})
            blob = first.content + rest.content
        except (requests.RequestException, ValueError, KeyError) as exc:
            log.info("%s: firmware check failed: %s", device.name, exc)
            return None
        if hashlib.sha256(blob).hexdigest() != offer["sha256"]:
            self._report(device, offer["version"], "failed", "sha256 mismatch")
            return None
        device.firmware_version = offer["version"]
        self._report(device, offer["version"], "installed")
        return offer["version"]

    def _report(self, device: DeviceState, version: str, state: str,
                reason: str | None = None) -> None:
        body = {"version": version, "state": state}
        if reason:
            body["reason"] = reason
        try:
            self.http.post(f"{self.url}/api/esp32/firmware/status", json=body,
                           headers=self._headers(device), timeout=self.timeout)
        except requests.RequestException:
            pass

    def tick(self, now: float) -> None:
        for index, device in enumerate(self.devices):
            metrics = sample_metrics(device, now)
            if metrics:  # as the firmware: a reading without any metric is not sent
                device.pending.append({
                    "seq": device.next_seq(),
                    "ts": int(now * 1000),
                    "metrics": metrics,
                })
            if device.pending and len(device.pending) >= self.batch_every:
                self.post_with_retry(device)
            # Devices spread their clips over the interval instead of all at once.
            if self.clip_interval and now >= self._next_clip.setdefault(
                    index, now + self.clip_interval * index / max(1, len(self.devices))):
                self._next_clip[index] = now + self.clip_interval
                self.post_clip(device, now)
            if self.firmware_interval and now >= self._next_firmware.setdefault(index, now):
                self._next_firmware[index] = now + self.firmware_interval
                self.check_firmware(device)

    def post_with_retry(self, device: DeviceState, max_attempts: int = 5) -> None:
        for attempt in range(max_attempts):
            if self.post_readings(device) or self.stop_event.is_set():
                return
            self.stop_event.wait(backoff_delay(attempt))

    def wait_for_server(self, timeout: float = 60.0) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline and not self.stop_event.is_set():
            try:
                if self.http.get(f"{self.url}/healthz", timeout=2).ok:
                    return True
            except requests.RequestException:
                pass
            self.stop_event.wait(0.5)
        return False

    def run(self, duration: float | None = None) -> None:
        self.wait_for_server()
        end = None if duration is None else time.time() + duration
        while not self.stop_event.is_set() and (end is None or time.time() < end):
            started = time.time()
            self.tick(started)
            self.stop_event.wait(max(0.0, self.reading_interval - (time.time() - started)))
        for device in self.devices:  # what is still buffered goes out before stopping
            self.post_with_retry(device, max_attempts=2)

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="signalcraft-simulator", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
