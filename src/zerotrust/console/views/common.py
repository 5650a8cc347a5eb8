"""What the page modules share: running an action and answering it."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from zerotrust.core.errors import InvalidInput


def done(message: str, *, reload: bool = True, **extra: Any) -> JSONResponse:
    """An action's answer: a sentence for the status line, and whether to reload."""
    return JSONResponse({"message": message, "reload": reload, **extra})


def bounded_note(data: dict[str, Any], name: str = "note") -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: text is expected.")
    return value.strip()[:500] or None
