"""Fault injection: "answer the next N requests of a service with status S", for lessons and tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    status: int
    remaining: int
    retry_after: int | None = None


class FaultInjector:
    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def inject(self, service: str, status: int, count: int, retry_after: int | None = None) -> None:
        with self._lock:
            self._faults[service] = Fault(status, count, retry_after)

    def take(self, service: str) -> Fault | None:
        """The fault to apply to this request, if any (consumes one)."""
        with self._lock:
            fault = self._faults.get(service)
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[service]
            return Fault(fault.status, 1, fault.retry_after)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> dict[str, dict[str, int | None]]:
        with self._lock:
            return {k: {"status": f.status, "remaining": f.remaining, "retryAfter": f.retry_after}
                    for k, f in self._faults.items()}
