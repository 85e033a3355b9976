"""User-facing errors.

Everything a user can cause (a bad file, a wrong flag, a model folder that does not fit) is raised as a
:class:`GenobenchError`; the CLI prints its message and exits with status 2 instead of a traceback.
Messages name the file and record so that the user can find and fix the input.
"""

from __future__ import annotations

from pathlib import Path


class GenobenchError(Exception):
    """Base class of every error a user can fix; the CLI prints it without a traceback."""


class InputError(GenobenchError):
    """A data file is malformed or inconsistent; the message names the file, record and line."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        record: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.record = record
        self.line = line
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ConfigError(GenobenchError):
    """A flag, task name, dataset name or option value is invalid."""


class ModelError(GenobenchError):
    """A model or tokenizer cannot be loaded or does not fit the requested scoring protocol."""
