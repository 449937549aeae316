"""Tasks and their quality metrics: how a runtime's outputs become the figure the search ranks."""

from edgeforge.evaluate.task import AGREEMENT_KEYS, TASKS, Task, get_task

__all__ = ["AGREEMENT_KEYS", "TASKS", "Task", "get_task"]
