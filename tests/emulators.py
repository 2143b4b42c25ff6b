"""Start and stop the official Google emulators (DESIGN §6) from the tests themselves."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

SDK = os.environ.get("GCLOUD_SDK_ROOT", "/usr/lib/google-cloud-sdk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} emulator exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} emulator did not start within {timeout} s")


@contextmanager
def _java(args: list[str], port: int, name: str) -> Iterator[str]:
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java is not installed: the emulators need it (see .ci/run)")
    proc = subprocess.Popen([java, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, 60, name)
        time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(10)


@contextmanager
def firestore_emulator() -> Iterator[str]:
    jar = f"{SDK}/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
    if not os.path.exists(jar):
        raise RuntimeError(f"Firestore emulator not found at {jar}")
    port = free_port()
    with _java(["-cp", jar, "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start",
                "--host=127.0.0.1", f"--port={port}"], port, "Firestore") as host:
        yield host


@contextmanager
def pubsub_emulator() -> Iterator[str]:
    jars = glob.glob(f"{SDK}/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*-all.jar")
    if not jars:
        raise RuntimeError("Pub/Sub emulator jar not found")
    port = free_port()
    with _java(["-jar", jars[0], "--host=127.0.0.1", f"--port={port}"], port, "Pub/Sub") as host:
        yield host
