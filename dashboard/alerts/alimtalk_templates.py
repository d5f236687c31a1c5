"""The Kakao AlimTalk templates SignalCraft sends, one per alert kind and language.

AlimTalk only delivers text that matches a template the Kakao channel registered and
Kakao approved, with ``#{name}`` variables filled in. These are the texts to register
(through the SOLAPI console, type "기본형", no buttons: the link is in the text, so the
SMS that replaces an undeliverable AlimTalk carries it too); their ids then go into
``SOLAPI_ALIMTALK_TEMPLATES``. Every template uses the same variables, which the
delivery fills from the alert: see ``VARIABLES``."""

from __future__ import annotations

import re

VARIABLES = ("severity", "title", "compressor", "site", "detail", "time", "link")

TEMPLATES: dict[str, dict[str, str]] = {
    "default": {
        "ko": "[SignalCraft] #{severity} 알림\n#{title}\n설비: #{compressor} (#{site})\n"
              "내용: #{detail}\n발생: #{time}\n\n확인하기: #{link}",
        "en": "[SignalCraft] #{severity} alert\n#{title}\nCompressor: #{compressor} "
              "(#{site})\nDetail: #{detail}\nOpened: #{time}\n\nOpen: #{link}",
    },
    "health_status": {
        "ko": "[SignalCraft] 설비 상태 #{severity}\n#{title}\n설비: #{compressor} (#{site})\n"
              "진단: #{detail}\n발생: #{time}\n\n점검 후 확인해 주세요: #{link}",
        "en": "[SignalCraft] Compressor health #{severity}\n#{title}\nCompressor: "
              "#{compressor} (#{site})\nDiagnosis: #{detail}\nOpened: #{time}\n\n"
              "Check and acknowledge: #{link}",
    },
    "fault_probability": {
        "ko": "[SignalCraft] 고장 징후 #{severity}\n#{title}\n설비: #{compressor} (#{site})\n"
              "진단: #{detail}\n발생: #{time}\n\n확인하기: #{link}",
        "en": "[SignalCraft] Likely fault #{severity}\n#{title}\nCompressor: #{compressor} "
              "(#{site})\nDiagnosis: #{detail}\nOpened: #{time}\n\nOpen: #{link}",
    },
    "anomaly": {
        "ko": "[SignalCraft] 이상 소음 #{severity}\n#{title}\n설비: #{compressor} (#{site})\n"
              "내용: #{detail}\n발생: #{time}\n\n확인하기: #{link}",
        "en": "[SignalCraft] Unusual sound #{severity}\n#{title}\nCompressor: #{compressor} "
              "(#{site})\nDetail: #{detail}\nOpened: #{time}\n\nOpen: #{link}",
    },
    "sensor_limit": {
        "ko": "[SignalCraft] 센서 한계 초과 #{severity}\n#{title}\n설비: #{compressor} "
              "(#{site})\n측정: #{detail}\n발생: #{time}\n\n확인하기: #{link}",
        "en": "[SignalCraft] Sensor limit #{severity}\n#{title}\nCompressor: #{compressor} "
              "(#{site})\nReading: #{detail}\nOpened: #{time}\n\nOpen: #{link}",
    },
    "offline": {
        "ko": "[SignalCraft] 장치 신호 끊김 #{severity}\n#{title}\n설비: #{compressor} "
              "(#{site})\n내용: #{detail}\n발생: #{time}\n\n"
              "전원과 네트워크를 확인해 주세요: #{link}",
        "en": "[SignalCraft] Device silent #{severity}\n#{title}\nCompressor: #{compressor} "
              "(#{site})\nDetail: #{detail}\nSince: #{time}\n\nCheck power and network: "
              "#{link}",
    },
}

_VARIABLE = re.compile(r"#\{([^}]+)\}")
# AlimTalk variables hold at most this many characters.
VARIABLE_LIMIT = 200


def render(text: str, variables: dict[str, str]) -> str:
    """The template with its variables filled in, as Kakao shows it."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def parse_template_ids(setting: str) -> dict[tuple[str, str], str]:
    """``"offline:ko=KA01TP1,default:en=KA01TP2"`` -> {("offline", "ko"): "KA01TP1", ...};
    ValueError names the first entry that is not ``kind:lang=id`` with a known kind."""
    ids: dict[tuple[str, str], str] = {}
    for entry in filter(None, (part.strip() for part in (setting or "").split(","))):
        key, sep, template_id = entry.partition("=")
        kind, colon, lang = key.strip().partition(":")
        if not (sep and colon and template_id.strip()) or kind not in TEMPLATES or lang not in (
                "ko", "en"):
            raise ValueError(f"SOLAPI_ALIMTALK_TEMPLATES: {entry!r} is not kind:lang=templateId "
                             f"with kind one of {', '.join(TEMPLATES)} and lang ko or en")
        ids[(kind, lang)] = template_id.strip()
    return ids


def choose_template(ids: dict[tuple[str, str], str], kind: str,
                    language: str) -> tuple[str, str] | None:
    """(template id, template text) for an alert kind in a language: the kind's own
    template, else the default one, else the same in Korean (a Korean AlimTalk beats
    none); None when nothing fits."""
    for key in ((kind, language), ("default", language), (kind, "ko"), ("default", "ko")):
        if key in ids:
            return ids[key], TEMPLATES[key[0]][key[1]]
    return None
