"""The one logging setup: structlog, readable on a console, JSON in production.

Log lines carry ids, counts and codes; never personal data (BSN, names, free text).
Context bound with `bind` (a request id, a melding id) is added to every line
logged while it holds. Standard-library loggers (uvicorn's among them) go
through the same renderer, so production output is JSON throughout.
Tracebacks are printed without local variables: locals may hold personal data.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import Processor

_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _renderer(log_format: str) -> Any:
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(
        colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
    )


class _Stderr:
    """Whatever sys.stderr is when a line is written, not when logging was set up: a test (or a
    command run in-process) may swap it for a while and close it after."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _StderrHandler(logging.StreamHandler):
    def __init__(self) -> None:
        super().__init__(_Stderr())


def configure(log_format: str = "console", level: int = logging.INFO) -> None:
    tail = [structlog.processors.format_exc_info] if log_format == "json" else []
    structlog.configure(
        processors=[*_SHARED, *tail, _renderer(log_format)],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *tail,
                _renderer(log_format),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn installs its own handlers; ours (on the root logger) take over.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


def bind(**values: str) -> None:
    """Add ids to every line logged in this context (request, task) from now on."""
    structlog.contextvars.bind_contextvars(**values)


def gebonden() -> dict[str, object]:
    """What is bound in this context now (the request id, ...)."""
    return structlog.contextvars.get_contextvars()


def clear() -> None:
    structlog.contextvars.clear_contextvars()
