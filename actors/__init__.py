"""The message side: `import actors` sets up the broker and registers every actor on it, so that
`dramatiq actors` starts a worker for all of them (`-Q queue ...` for a subset) and `periodiq actors`
starts the scheduler (the same one as `tickwork scheduler`).

Domain modules join the import list below as they are built; an actor listed in the contract but
not yet implemented is dead-lettered by the worker with reason `unknown_actor`, and its timetable
jobs stay inactive.
"""

from actors import bots, maintenance, notifications, refresh, trading  # noqa: F401  (each domain module registers its actors)
from actors.broker import broker
from actors.scheduling import mark_periodic_actors

# After every domain module: `periodiq actors` looks for the `periodic` option on registered actors.
mark_periodic_actors()

__all__ = ["broker"]
