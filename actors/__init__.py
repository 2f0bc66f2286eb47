"""The message side: `import actors` sets up the broker and registers every actor on it, so that
`dramatiq actors` starts a worker for all of them (`-Q queue ...` for a subset).

Domain modules join the import list below as they are built; an actor listed in the contract but
not yet implemented is dead-lettered by the worker with reason `unknown_actor`.
"""

from actors.broker import broker

__all__ = ["broker"]
