"""Configuration from the environment (DESIGN §3.1). Read once per process, lazily."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Config:
    store_url: str
    queue: str
    public_url: str
    client_id: str | None
    client_secret: str | None
    max_csv_bytes: int
    pubsub_topic: str
    project: str | None

    def handler_url(self, function: str) -> str:
        return f"{self.public_url.rstrip('/')}/{function}"


def load_config() -> Config:
    return Config(
        store_url=os.environ.get("B24GOODS_STORE", "sqlite:///var/b24goods.db"),
        queue=os.environ.get("B24GOODS_QUEUE", "inline"),
        public_url=os.environ.get("B24GOODS_PUBLIC_URL", "http://127.0.0.1:8080"),
        client_id=os.environ.get("B24GOODS_CLIENT_ID") or None,
        client_secret=os.environ.get("B24GOODS_CLIENT_SECRET") or None,
        max_csv_bytes=int(os.environ.get("B24GOODS_MAX_CSV_BYTES", str(5 * 1024 * 1024))),
        pubsub_topic=os.environ.get("B24GOODS_PUBSUB_TOPIC", "b24goods-jobs"),
        project=os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT") or None,
    )


@lru_cache(maxsize=1)
def config() -> Config:
    return load_config()


def reset_config() -> None:
    """Tests change the environment between cases."""
    config.cache_clear()
