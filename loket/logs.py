"""The one logging setup: structlog, readable on a console, JSON in production.

Log lines carry ids, counts and codes; never personal data (BSN, names, free text).
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure(log_format: str = "console", level: int = logging.INFO) -> None:
    renderer = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
