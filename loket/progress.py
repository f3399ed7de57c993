"""Progress for long work: a bar on a terminal, a few plain lines otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class Voortgang(Protocol):
    def advance(self, n: int = 1) -> None: ...


class _Plain:
    """For logs and pipes: a line at every tenth of the work."""

    def __init__(self, label: str, total: int | None):
        self.label, self.total, self.done, self.next_report = label, total, 0, 0.1

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.total and self.done / self.total >= self.next_report:
            print(f"{self.label}: {self.done}/{self.total}", file=sys.stderr, flush=True)
            self.next_report += 0.1


class _Bar:
    def __init__(self, progress: Progress, task: TaskID):
        self.progress, self.task = progress, task

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)


@contextmanager
def voortgang(label: str, total: int | None, *, quiet: bool = False) -> Iterator[Voortgang]:
    if quiet:
        yield _Plain(label, None)
    elif sys.stderr.isatty():
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        ) as progress:
            yield _Bar(progress, progress.add_task(label, total=total))
    else:
        yield _Plain(label, total)
