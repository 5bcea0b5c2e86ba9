"""The rate limit of refused requests in the audit log (a real SQLite audit log; the clock is given)."""

from __future__ import annotations

import json

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.governance.audit import AuditLog
from faceplane.governance.refusals import Refusal, RefusalLog


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def _refusal(ip: str, status: int = 401) -> Refusal:
    return Refusal(actor="", role="", ip=ip, method="POST", path="/api/v1/x", status=status, reason="r", detail="d")


def _offer(log: RefusalLog, ip: str, status: int = 401) -> bool:
    if log.admit(ip, status):
        log.write(_refusal(ip, status))
        return True
    return False


def test_a_source_gets_its_burst_then_one_a_refill() -> None:
    clock, audit = Clock(), AuditLog(":memory:")
    log = RefusalLog(audit, per_minute=100, per_source=3, clock=clock)
    assert [_offer(log, "a") for _ in range(5)] == [True, True, True, False, False]
    assert _offer(log, "a", 403)  # another status is another source
    assert _offer(log, "b")
    clock.now_s += 20  # 3 a minute: one token back
    assert [_offer(log, "a") for _ in range(2)] == [True, False]
    summaries = audit.query(action="refused.suppressed")
    assert [json.loads(s.detail)["count"] for s in summaries] == [2]  # written before the next row of anyone


@pytest.mark.parametrize(("per_minute", "sources"), [(10, 50), (30, 500)])
def test_the_global_cap_holds_against_many_sources(per_minute: int, sources: int) -> None:
    clock, audit = Clock(), AuditLog(":memory:")
    log = RefusalLog(audit, per_minute=per_minute, per_source=5, clock=clock)
    written = sum(_offer(log, f"10.0.{n // 250}.{n % 250}") for n in range(sources) for _ in range(4))
    assert written == per_minute
    log.flush()
    (summary,) = audit.query(action="refused.suppressed")
    assert json.loads(summary.detail)["by_status"] == {"401": sources * 4 - per_minute}
    log.flush()  # nothing held back since: no second summary
    assert len(audit.query(action="refused.suppressed")) == 1


def test_limits_below_one_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="refusal limits"):
        RefusalLog(AuditLog(":memory:"), per_minute=0)
