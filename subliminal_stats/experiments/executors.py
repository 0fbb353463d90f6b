"""Where the independent jobs of a run execute: here, one after another (the default), or as
Ray tasks across a Ray cluster (``run --executor ray [--address ADDR]``).

The jobs fanned out are the students (training) and the models to evaluate: each is
idempotent against the run folder (a finished student has its record, a finished
evaluation its complete store), so a task Ray retries after its worker died redoes only
what that task had not finished, and pays nothing twice. Results are the same as the
serial run's: every job's randomness comes from its own seeds, never from the order.

Ray is an optional extra (``pip install 'subliminal-stats[ray]'``); it is imported only
when the Ray executor is used. On a multi-node cluster every node needs this package and
the run folder on a shared file system (the tasks read and write it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from subliminal_stats.errors import InputError

__all__ = ["RayExecutor", "SerialExecutor", "make_executor"]

T = TypeVar("T")


class SerialExecutor:
    """Runs the jobs here, in order."""

    name = "serial"

    def map(self, fn: Callable[[Any], T], items: Sequence[Any], *, num_gpus: float = 0,
            num_cpus: float = 1) -> list[T]:
        return [fn(item) for item in items]


class RayExecutor:
    """Runs each job as a Ray task (``num_gpus``/``num_cpus`` per task), results in order.

    Parameters
    ----------
    address : str, optional
        A running cluster (``ray://host:10001`` or ``auto``); None starts a local one.
    max_retries : int
        Times Ray reruns a task whose worker died (the job resumes from the run folder).
    init_kwargs
        Passed to ``ray.init`` when this executor starts Ray (e.g. ``num_cpus=2``).
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, max_retries: int = 3, **init_kwargs):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise InputError("--executor ray needs Ray: pip install 'subliminal-stats[ray]'") \
                from None
        self.address = address
        self.max_retries = max_retries
        self.init_kwargs = init_kwargs

    def _ray(self):
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False, include_dashboard=False,
                     **self.init_kwargs)
        return ray

    def map(self, fn: Callable[[Any], T], items: Sequence[Any], *, num_gpus: float = 0,
            num_cpus: float = 1) -> list[T]:
        if not items:
            return []
        ray = self._ray()
        # ray.remote takes functions, not partials or callable objects: ship fn as data.
        task = ray.remote(num_gpus=num_gpus, num_cpus=num_cpus,
                          max_retries=self.max_retries)(_apply)
        shipped = ray.put(fn)
        return ray.get([task.remote(shipped, item) for item in items])


def _apply(fn: Callable[[Any], T], item: Any) -> T:
    return fn(item)


def make_executor(name: str, *, address: str | None = None) -> SerialExecutor | RayExecutor:
    """``serial`` or ``ray`` (the ``run --executor`` values)."""
    if name == "serial":
        if address:
            raise InputError("--address is for --executor ray")
        return SerialExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise InputError(f"unknown executor {name!r}: use serial or ray")
