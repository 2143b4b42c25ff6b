"""What Eventarc does for a Pub/Sub-triggered gen2 function, on loopback: pull, POST a CloudEvent, ack or nack.

Used with the official Pub/Sub emulator (``PUBSUB_EMULATOR_HOST``): messages are pulled from a subscription
and delivered to the function served by functions-framework as a binary-mode CloudEvent of type
``google.cloud.pubsub.topic.v1.messagePublished``. A 2xx answer acknowledges the message; anything else
makes it available again at once (``--retry`` in the deploy), so the function sees it redelivered.
``duplicate=True`` delivers every message twice at the same moment, as at-least-once delivery may.
"""

from __future__ import annotations

import base64
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import requests


class PubSubPush:
    def __init__(self, project: str, topic: str, url: str, *, duplicate: bool = False) -> None:
        from google.cloud import pubsub_v1

        self.project, self.topic, self.url, self.duplicate = project, topic, url, duplicate
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        self.topic_path = self.publisher.topic_path(project, topic)
        self.subscription = self.subscriber.subscription_path(project, f"{topic}-push-{uuid.uuid4().hex[:6]}")
        self.deliveries: list[int] = []  # HTTP status of every delivery
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=4)
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> PubSubPush:
        try:
            self.publisher.create_topic(request={"name": self.topic_path})
        except Exception as exc:  # AlreadyExists on a second bridge for the same topic
            if "exists" not in str(exc).lower():
                raise
        self.subscriber.create_subscription(request={"name": self.subscription, "topic": self.topic_path,
                                                     "ack_deadline_seconds": 60})
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._pool.shutdown(wait=True)

    def publish(self, data: bytes) -> None:
        self.publisher.publish(self.topic_path, data).result(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                resp = self.subscriber.pull(request={"subscription": self.subscription, "max_messages": 10},
                                            timeout=2.0)
            except Exception:  # DeadlineExceeded when idle
                continue
            for received in resp.received_messages:
                self._pool.submit(self._deliver, received)

    def _deliver(self, received: Any) -> None:
        copies = 2 if self.duplicate else 1
        with ThreadPoolExecutor(max_workers=copies) as pool:
            statuses = list(pool.map(lambda _: self._post(received.message), range(copies)))
        self.deliveries.extend(statuses)
        if any(200 <= s < 300 for s in statuses):
            self.subscriber.acknowledge(request={"subscription": self.subscription, "ack_ids": [received.ack_id]})
        else:
            self.subscriber.modify_ack_deadline(request={"subscription": self.subscription,
                                                         "ack_ids": [received.ack_id], "ack_deadline_seconds": 0})

    def _post(self, message: Any) -> int:
        body = {"message": {"data": base64.b64encode(message.data).decode(), "messageId": message.message_id,
                            "publishTime": datetime.now(UTC).isoformat(), "attributes": dict(message.attributes)},
                "subscription": self.subscription}
        headers = {"ce-specversion": "1.0", "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
                   "ce-source": f"//pubsub.googleapis.com/{self.topic_path}", "ce-id": message.message_id,
                   "ce-time": datetime.now(UTC).isoformat(), "Content-Type": "application/json"}
        try:
            return requests.post(self.url, json=body, headers=headers, timeout=300).status_code
        except requests.RequestException:
            return 599
