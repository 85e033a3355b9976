"""Benchmark tasks. Importing this package registers every built-in task."""

from genobench_hf.tasks import conservation as _conservation  # noqa: F401
from genobench_hf.tasks import efficiency as _efficiency  # noqa: F401
from genobench_hf.tasks import gene_completion as _gene_completion  # noqa: F401
from genobench_hf.tasks import imputation as _imputation  # noqa: F401  (registers tasks)
from genobench_hf.tasks import neuron_importance as _neuron_importance  # noqa: F401
from genobench_hf.tasks import probes as _probes  # noqa: F401
from genobench_hf.tasks import span_imputation as _span_imputation  # noqa: F401
from genobench_hf.tasks import transfer as _transfer  # noqa: F401
from genobench_hf.tasks.base import (
    DATASET_NAMES,
    Task,
    TaskConfig,
    TaskMetadata,
    available_tasks,
    get_task,
    register_task,
)

__all__ = [
    "DATASET_NAMES",
    "Task",
    "TaskConfig",
    "TaskMetadata",
    "available_tasks",
    "get_task",
    "register_task",
]
