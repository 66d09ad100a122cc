"""Stop sending when every request fails the same way or the service is unreachable.

A backend retries each failed request (about 25 s for a refused connection);
a run whose requests all fail the same way gains nothing from sending the
rest. Every caller that sends requests (a generation run, the quality judge,
the contamination judge) passes each result to one `FailureWatch`, which
raises `StopSending` from the result callback the first time one of these
rules holds, so the backend sends nothing more, lets the calls in flight
report, and the command exits 1 with one line naming the cause:

* unreachable: a request none of whose attempts reached the service (every
  attempt refused, a DNS lookup failed, no connection in time), while no
  request of the run has reached it; later in a run, `EARLY_STOP_AFTER` such
  requests in a row;
* the same failure: the first `EARLY_STOP_AFTER` requests to complete (all
  of them, in a smaller run) failed with the same `Failure.cause`, and none
  succeeded.

A failure among successes is never a reason: the backend retries it as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.generate.backends.base import Failure, GenerationResult, StopSending

__all__ = ["EARLY_STOP_AFTER", "EarlyStop", "FailureWatch"]

#: Requests that must all fail the same way, none succeeding, before a run
#: stops early; also unreachable requests in a row once the service has answered.
EARLY_STOP_AFTER = 8


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True, slots=True)
class EarlyStop:
    """Why a run stopped (or would have): `reason` names the cause, `hint` the remedy."""

    reason: str
    hint: str = ""

    def line(
        self, *, done: int, succeeded: int, not_sent: int, rerun: str, noun: str = "request"
    ) -> str:
        """The one error line: the cause, the figures, what to do, how to rerun.

        `rerun` is the end of the sentence, e.g. "rerun `ccorpus generate run …`".
        """
        text = f"{self.reason} after {_count(done, noun)}, {succeeded or 'none'} succeeded"
        if not_sent:
            text += f"; stopped early, {not_sent} not sent"
        return f"{text}; {self.hint or 'fix its cause'}, then {rerun}"

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "hint": self.hint}


class FailureWatch:
    """Counts the results of a run of `total` requests and decides when to stop.

    `see` each result as it arrives (from one thread at a time); it raises
    `StopSending` once, when a rule of the module docstring first holds and
    requests remain. `stop` then holds the reason; it is also set, without
    raising, when the rule holds at the last result.
    """

    def __init__(self, total: int, *, after: int = EARLY_STOP_AFTER) -> None:
        if after < 1:
            raise ValueError(f"after must be at least 1, got {after}")
        self.total = total
        self.after = after
        self.done = 0
        self.succeeded = 0
        self.stop: EarlyStop | None = None
        self._reached = False  # whether any request got through to the service
        self._unreachable_run = 0  # unreachable results in a row
        self._first_causes: set[str | None] = set()

    def see(self, result: GenerationResult) -> None:
        failure = result.failure_of()
        self.done += 1
        if failure is None:
            self.succeeded += 1
        if failure is not None and failure.unreachable:
            self._unreachable_run += 1
        else:
            self._reached = True
            self._unreachable_run = 0
        if self.done <= self.after:
            self._first_causes.add(None if failure is None else failure.cause)
        if self.stop is not None or failure is None:
            return
        self.stop = self._verdict(failure)
        if self.stop is not None and self.done < self.total:
            raise StopSending(self.stop.reason)

    def _verdict(self, failure: Failure) -> EarlyStop | None:
        if failure.unreachable and (not self._reached or self._unreachable_run >= self.after):
            where = f" at {failure.where}" if failure.where else ""
            verb = "became" if self._reached else "is"
            reason = f"{failure.service} {verb} unreachable ({failure.cause}{where})"
            return EarlyStop(reason, failure.hint)
        if (
            self.succeeded == 0
            and self.done == min(self.after, self.total)
            and self._first_causes == {failure.cause}
        ):
            return EarlyStop(
                f"every request to {failure.service} failed the same way ({failure.cause})",
                failure.hint,
            )
        return None
