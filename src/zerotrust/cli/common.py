"""What every ``zt`` command shares: settings, services, JSON output, one-line errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import click

from zerotrust.core.errors import ZTError
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(fn: F) -> F:
    """Turn domain errors into a one-line message and exit code 1 — never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ZTError as exc:
            fail(f"{exc.detail} ({exc.code})", 1)
        return None

    return cast(F, wrapper)


def settings() -> Settings:
    return load_settings()


@contextmanager
def open_services(s: Settings | None = None) -> Iterator[Services]:
    svc = build_services(s or settings())
    try:
        yield svc
    finally:
        svc.close()


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
