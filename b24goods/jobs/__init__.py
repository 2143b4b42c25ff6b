"""The queue port: deliver ``(member_id, job_id)`` to a worker, at least once.

Jobs are idempotent (state and progress in the store, a lease per run), so at-least-once delivery is all a
queue must give. ``inline`` runs a worker thread pool inside the process (embedded mode); ``pubsub``
publishes to a topic whose push subscription triggers the ``worker`` function (cloud mode).
"""

from __future__ import annotations

import json
import logging
import queue as stdlib_queue
import threading
import time
from typing import Protocol

from ..config import Config, config
from ..errors import B24GoodsError
from ..store.base import DocumentStore

log = logging.getLogger(__name__)


class Queue(Protocol):
    def enqueue(self, member_id: str, job_id: str, delay: float = 0.0) -> None: ...


class InlineQueue:
    """Worker threads in this process. ``recover()`` resumes jobs left open by a crashed process."""

    def __init__(self, db: DocumentStore, workers: int = 2) -> None:
        self.db = db
        self._q: stdlib_queue.Queue[tuple[float, str, str]] = stdlib_queue.Queue()
        self._threads = [threading.Thread(target=self._loop, daemon=True, name=f"b24goods-worker-{i}")
                         for i in range(workers)]
        self._idle = threading.Condition()
        self._busy = 0
        for t in self._threads:
            t.start()

    def enqueue(self, member_id: str, job_id: str, delay: float = 0.0) -> None:
        with self._idle:
            self._busy += 1
        self._q.put((time.monotonic() + delay, member_id, job_id))

    def recover(self) -> int:
        from ..robot import open_jobs

        found = open_jobs(self.db)
        for member_id, job_id in found:
            self.enqueue(member_id, job_id)
        return len(found)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _loop(self) -> None:
        from ..robot import run_job

        while True:
            due, member_id, job_id = self._q.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 1.0))
                if due - time.monotonic() > 0:
                    self._q.put((due, member_id, job_id))
                    continue
            retry = False
            try:
                run_job(self.db, member_id, job_id)
            except B24GoodsError as exc:
                retry = exc.retryable
                log.info("job %s will be retried: %s", job_id, exc.code)
            except Exception:
                log.exception("job %s crashed the worker step", job_id)
            if retry:
                self._q.put((time.monotonic() + 2.0, member_id, job_id))
                continue
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()


class PubSubQueue:
    """Publishes job references to Pub/Sub (``B24GOODS_QUEUE=pubsub``); ``functions/worker.py`` consumes them."""

    def __init__(self, cfg: Config) -> None:
        from google.cloud import pubsub_v1  # lazy: only the cloud path pays for it

        self._publisher = pubsub_v1.PublisherClient()
        project = cfg.project or "b24goods-local"
        self.topic = self._publisher.topic_path(project, cfg.pubsub_topic)

    def enqueue(self, member_id: str, job_id: str, delay: float = 0.0) -> None:
        data = json.dumps({"member_id": member_id, "job_id": job_id}).encode()
        self._publisher.publish(self.topic, data).result(timeout=30)


_lock = threading.Lock()
_queues: dict[str, Queue] = {}


def get_queue(db: DocumentStore, cfg: Config | None = None) -> Queue:
    cfg = cfg or config()
    key = f"{cfg.queue}|{cfg.store_url}"
    with _lock:
        q = _queues.get(key)
        if q is None:
            if cfg.queue == "inline":
                q = InlineQueue(db)
            elif cfg.queue == "pubsub":
                q = PubSubQueue(cfg)
            else:
                raise B24GoodsError(f"B24GOODS_QUEUE={cfg.queue!r}: expected inline or pubsub", code="BAD_CONFIG")
            _queues[key] = q
        return q


def reset_queues() -> None:
    with _lock:
        _queues.clear()
