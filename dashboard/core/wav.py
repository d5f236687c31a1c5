"""The one WAV check, for clips from devices and files people upload (issue 17).

Everything is decided from the RIFF header before a single sample is decoded: only
RIFF/WAVE, 16-bit PCM or 32/64-bit float, mono, 8-48 kHz, 1-30 s, and at most
``MAX_DECODED_BYTES`` once decoded. A 42 KB FLAC that decodes to 1.3 GB, or a WAV whose
header claims 8 channels at 655 kHz, is refused after reading a few dozen bytes."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from dashboard.core.i18n import UserMessageError

MIN_RATE, MAX_RATE = 8_000, 48_000
MIN_SECONDS, MAX_SECONDS = 1.0, 30.0
MAX_BYTES = 4 * 1024 * 1024  # the encoded file
# float32 mono at the longest, fastest clip: 30 s * 48 kHz * 4 bytes = 5.76 MB
MAX_DECODED_BYTES = int(MAX_SECONDS * MAX_RATE * 4)
CHANNELS = 1

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_ACCEPTED = {(_PCM, 16), (_FLOAT, 32), (_FLOAT, 64)}


class WavError(UserMessageError):
    """A refused audio file. ``status`` and ``code`` are the device API's answer; the
    message (English msgid) is for people."""

    def __init__(self, status: int, code: str, message: str, **params: object) -> None:
        super().__init__(message, **params)
        self.status, self.code = status, code


@dataclass(frozen=True)
class WavHeader:
    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class Clip:
    wav: bytes  # what is stored: always a WAV file
    sample_rate: int
    duration_s: float


def check_shape(rate: int, frames: int, channels: int) -> float:
    """Sample rate, channels and duration within the limits; the duration in seconds."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise WavError(422, "unsupported_sample_rate",
                       "The sample rate %(rate)s Hz is outside %(low)s-%(high)s Hz.",
                       rate=rate, low=MIN_RATE, high=MAX_RATE)
    if channels != CHANNELS:
        raise WavError(422, "invalid_audio",
                       "Expected mono audio, got %(channels)s channels.", channels=channels)
    duration = frames / rate
    if not MIN_SECONDS <= duration <= MAX_SECONDS:
        raise WavError(422, "invalid_duration",
                       "The clip is %(seconds)s s; expected %(low)s-%(high)s s.",
                       seconds=f"{duration:.2f}", low=f"{MIN_SECONDS:g}",
                       high=f"{MAX_SECONDS:g}")
    if frames * 4 > MAX_DECODED_BYTES:
        raise WavError(413, "payload_too_large", "The decoded audio would be too large.")
    return duration


def read_header(data: bytes) -> WavHeader:
    """Parse and check the RIFF header alone. The chunk sizes must fit the bytes
    present (soundfile reads a truncated file without complaint)."""
    if len(data) > MAX_BYTES:
        raise WavError(413, "payload_too_large",
                       "Audio files are limited to %(limit)s bytes.", limit=MAX_BYTES)
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(400, "invalid_audio", "This is not a RIFF/WAVE file.")
    pos, fmt, data_size = 12, None, None
    while pos + 8 <= len(data):
        chunk_id = data[pos:pos + 4]
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + size > len(data):
                raise WavError(400, "invalid_audio", "The WAV format chunk is malformed.")
            fmt = struct.unpack("<HHIIHH", data[body:body + 16])
            if fmt[0] == _EXTENSIBLE:
                if size < 40:
                    raise WavError(400, "invalid_audio", "The WAV format chunk is malformed.")
                # the sub-format GUID starts with the real format tag
                fmt = (struct.unpack("<H", data[body + 24:body + 26])[0], *fmt[1:])
        elif chunk_id == b"data":
            if body + size > len(data):
                raise WavError(400, "invalid_audio",
                               "The WAV is truncated: its data chunk says %(size)s bytes, "
                               "%(present)s present.", size=size, present=len(data) - body)
            data_size = size
            break
        pos = body + size + (size & 1)
    if fmt is None:
        raise WavError(400, "invalid_audio", "The WAV has no format chunk.")
    if data_size is None:
        raise WavError(400, "invalid_audio", "The WAV has no data chunk.")
    tag, channels, rate, _byte_rate, _align, bits = fmt
    if (tag, bits) not in _ACCEPTED:
        raise WavError(415, "unsupported_audio",
                       "A WAV must be 16-bit PCM or float, not format %(tag)s with %(bits)s "
                       "bits.", tag=tag, bits=bits)
    if channels < 1:
        raise WavError(400, "invalid_audio", "The WAV header is malformed.")
    frames = data_size // (channels * bits // 8)
    check_shape(rate, frames, channels)
    return WavHeader(tag, channels, rate, bits, frames)


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float32 samples and the sample rate of a WAV that passes ``read_header``."""
    header = read_header(data)
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True,
                                frames=header.frames)
    except (RuntimeError, sf.LibsndfileError, ValueError, TypeError) as exc:
        raise WavError(400, "invalid_audio", "This is not a readable WAV file.") from exc
    check_shape(int(rate), samples.shape[0], samples.shape[1])
    mono = samples[:, 0]
    if not np.isfinite(mono).all():
        raise WavError(422, "invalid_audio", "The audio holds NaN or infinite samples.")
    return mono, int(rate)


def parse_wav(data: bytes) -> Clip:
    """A checked clip, kept as the WAV bytes it came in."""
    _samples, rate = decode(data)
    return Clip(wav=data, sample_rate=rate, duration_s=_samples.shape[0] / rate)


def parse_raw_pcm(data: bytes, rate: int) -> Clip:
    """Raw little-endian 16-bit mono PCM at ``rate``, wrapped into a WAV."""
    if len(data) > MAX_BYTES:
        raise WavError(413, "payload_too_large",
                       "Audio files are limited to %(limit)s bytes.", limit=MAX_BYTES)
    if len(data) % 2:
        raise WavError(400, "invalid_audio", "Raw 16-bit PCM must have an even byte count.")
    duration = check_shape(rate, len(data) // 2, 1)
    buf = io.BytesIO()
    sf.write(buf, np.frombuffer(data, dtype="<i2"), rate, subtype="PCM_16", format="WAV")
    return Clip(wav=buf.getvalue(), sample_rate=rate, duration_s=duration)
