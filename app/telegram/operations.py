"""Which `ProfileCommands` operations travel over the command bus (app.telegram.routed), declared where defined."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

Operation = TypeVar("Operation", bound=Callable[..., Awaitable[Any]])
_ROUTED_MARK = "__routed_operation__"


def routed_operation(method: Operation) -> Operation:
    """Declare an operation that may run at the worker owning the profile (app.telegram.routed).

    Its arguments and result must be msgspec-serialisable: they travel over the command bus.
    """
    setattr(method, _ROUTED_MARK, True)
    return method


def routed_operations(cls: type) -> tuple[str, ...]:
    """The names of the operations `cls` declares with `@routed_operation`, in declaration order."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):  # mixed-in operations (app.telegram.contacts) first
        names |= {name: None for name, value in vars(klass).items() if getattr(value, _ROUTED_MARK, False)}
    return tuple(names)
