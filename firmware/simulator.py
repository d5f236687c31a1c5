"""A simulated ESP32: posts sensor readings (and later audio clips) to the server
through the same HTTP API real devices use, with sequence numbers, batching and
retries with exponential backoff and jitter.

Each device follows a condition profile so the demo fleet looks like a real one:
most run normally, some drift toward a fault."""

from __future__ import annotations

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

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def sample_metrics(state: DeviceState, now: float) -> dict[str, float]:
    """Plausible sensor values for a compressor cycling on and off, with the drift of
    the device's profile. Deterministic for a given (seed, time)."""
    rng = random.Random(hash((state.seed, int(now))))
    phase = (now / 600.0 + state.seed * 0.37) % 1.0
    running = phase < 0.7  # runs ~70% of a 10-minute cycle
    hours = (now - state.started) / 3600.0
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
    return {
        "temperature_c": round(temp, 2),
        "current_a": round(max(current, 0.0), 2),
        "pressure_bar": round(max(pressure, 0.0), 2),
        "vibration_rms_g": round(max(vibration, 0.0), 4),
        "humidity_pct": round(min(max(humidity, 0.0), 100.0), 1),
    }


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0,
                  rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter."""
    rng = rng or random
    return rng.uniform(0, min(cap, base * (2 ** attempt)))


class Simulator:
    def __init__(self, url: str, devices: list[DeviceState], reading_interval: float = 2.0,
                 batch_every: int = 1, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.devices = devices
        self.reading_interval = reading_interval
        self.batch_every = max(1, batch_every)
        self.timeout = timeout
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

    def tick(self, now: float) -> None:
        for device in self.devices:
            device.pending.append({
                "seq": device.next_seq(),
                "ts": int(now * 1000),
                "metrics": sample_metrics(device, now),
            })
            if len(device.pending) >= self.batch_every:
                self.post_with_retry(device)

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

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="signalcraft-simulator", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
