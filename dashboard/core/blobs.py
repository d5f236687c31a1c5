"""Where audio clips (and firmware binaries) live: a local folder by default, or an
S3-compatible bucket. Keys are relative paths such as ``org/3/comp/7/000123.wav``.

A failing store raises ``StoreUnavailable`` so the API can answer 503 with
Retry-After and write nothing to the database."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from flask import Flask, current_app

log = logging.getLogger("signalcraft.audio_store")


class StoreUnavailable(RuntimeError):
    pass


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def check(self) -> None: ...
    def keys(self) -> Iterator[str]: ...


def _safe_key(key: str) -> str:
    parts = [p for p in key.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ValueError(f"bad key {key!r}")
    return "/".join(parts)


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a crash never leaves half a file under the real name.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise StoreUnavailable(f"audio store write failed: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError:
            pass

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(str(exc)) from exc
        if not os.access(self.root, os.W_OK):
            raise StoreUnavailable(f"{self.root} is not writable")

    def keys(self) -> Iterator[str]:
        """Every stored key, sorted (half-written ``.tmp-`` files left out)."""
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.relative_to(self.root).as_posix()


class S3Store:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"},
                          connect_timeout=5, read_timeout=20),
        )

    def _key(self, key: str) -> str:
        key = _safe_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"S3 write failed: {exc}") from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise StoreUnavailable(str(exc)) from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not delete %s from S3: %s", key, exc)

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    def keys(self) -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        start = f"{self.prefix}/" if self.prefix else ""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start)
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(start):]
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(str(exc)) from exc


def make_store(url: str, instance_path: str, endpoint_url: str | None = None) -> BlobStore:
    """``""`` -> instance/audio; ``file:///path`` -> that folder; ``s3://bucket/prefix``."""
    if not url:
        return LocalStore(Path(instance_path) / "audio")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStore(Path(parsed.path))
    if parsed.scheme == "s3":
        return S3Store(parsed.netloc, parsed.path, endpoint_url)
    raise ValueError(f"SIGNALCRAFT_AUDIO_STORE must be file:// or s3://, not {url!r}")


def init_store(server: Flask) -> None:
    server.extensions["sc_audio_store"] = make_store(
        server.config.get("AUDIO_STORE", ""), server.instance_path,
        server.config.get("S3_ENDPOINT_URL") or None,
    )


def audio_store(app: Flask | None = None) -> BlobStore:
    return (app or current_app).extensions["sc_audio_store"]
