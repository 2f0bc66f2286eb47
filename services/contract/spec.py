"""What the contract says about one actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from services.engine.priority import Priority
from services.engine.retry_policy import RetryPolicy
from services.engine.task_classes import DEFAULT, TaskClass
from services.engine.topology import QUEUES
from services.errors import PayloadInvalid

_UNSET: Any = object()


class Payload(BaseModel):
    """An actor's keyword arguments. Unknown fields are refused so that typos fail loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArguments(Payload):
    """The payload of an actor that takes no arguments: any key is refused."""


@dataclass(frozen=True)
class ActorSpec:
    """One actor: where its messages go, how urgent they are, how it fails and what it takes."""

    name: str
    queue: str
    payload: type[Payload]
    priority: Priority = Priority.NORMAL
    task_class: TaskClass = DEFAULT
    # How re-running the same message does no harm (every actor is at-least-once).
    idempotency: str = ""
    # Per-actor overrides of the task class; None keeps the class's value.
    time_limit_s: float | None = None
    retry_override: RetryPolicy | None = None
    age_limit_s: float | None = _UNSET

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(f"actor {self.name!r}: unknown queue {self.queue!r}")

    @property
    def time_limit(self) -> float:
        """Seconds the actor may run before it is interrupted."""
        return self.time_limit_s if self.time_limit_s is not None else self.task_class.time_limit_s

    @property
    def retry(self) -> RetryPolicy:
        """The actor's default retry policy (a message may override it)."""
        return self.retry_override or self.task_class.retry

    @property
    def age_limit(self) -> float | None:
        """Seconds after which an unstarted message is too old to run, or None."""
        return self.task_class.age_limit_s if self.age_limit_s is _UNSET else self.age_limit_s

    @property
    def arguments(self) -> tuple[str, ...]:
        """The payload fields the actor function takes: every field but those the contract only
        accepts empty (`Field(exclude=True)`, such as a retired parameter that is refused when set)."""
        return tuple(name for name, field in self.payload.model_fields.items() if not field.exclude)

    def validate(self, kwargs: dict[str, Any]) -> Payload:
        """The payload parsed from `kwargs`; raises PayloadInvalid with every problem on one line."""
        try:
            return self.payload.model_validate(kwargs)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(payload)'}: {e['msg']}" for e in error.errors()
            )
            raise PayloadInvalid(f"{self.name}: {problems}") from None

    def json_schema(self) -> dict[str, Any]:
        """The payload's JSON Schema, with the routing facts a sender needs."""
        schema = self.payload.model_json_schema()
        schema["title"] = self.name
        schema["x-tickwork"] = {
            "queue": self.queue,
            "default_priority": self.priority.value,
            "task_class": self.task_class.name,
            "time_limit_s": self.time_limit,
            "age_limit_s": self.age_limit,
            "retry": self.retry.as_options(),
            "idempotency": self.idempotency,
        }
        return schema
