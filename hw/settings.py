"""What settings schemas are made of: strict TOML types, rules, and error paths in hw's words.

A driver's settings schema is a marshmallow schema built from these fields; `load()` returns
the driver's own frozen dataclass (`model`). Messages read as the rest of the [hardware] errors:
`hardware.boards[0].timeout: must be positive, got -1.0`.
"""

from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, post_load

from .errors import HardwareConfigError

Rule = Callable[[Any], None]


class _Strict(fields.Field):
    """A TOML value of one type, taken as is; bool never passes for a number."""

    kinds: ClassVar[tuple[type, ...]]
    kind: ClassVar[str]
    default_error_messages: ClassVar[dict[str, str]] = {
        "required": "is required",
        "null": "is required",
        "invalid": "must be {kind}, got {input!r}",
    }

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> Any:
        if not isinstance(value, self.kinds) or (isinstance(value, bool) and bool not in self.kinds):
            raise self.make_error("invalid", kind=self.kind, input=value)
        return value


class String(_Strict):
    kinds = (str,)
    kind = "a string"


class Integer(_Strict):
    kinds = (int,)
    kind = "an integer"


class Number(_Strict):
    """An integer or a float, loaded as a float (TOML writes 2 for 2.0)."""

    kinds = (int, float)
    kind = "a number"

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> float:
        return float(super()._deserialize(value, attr, data, **kwargs))


class Boolean(_Strict):
    kinds = (bool,)
    kind = "true or false"


class Secret(String):
    """A string that is never shown: not in errors, not in repr (passwords, tokens, keys)."""

    default_error_messages: ClassVar[dict[str, str]] = {"invalid": "must be a string"}

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> "Hidden":
        return Hidden(super()._deserialize(value, attr, data, **kwargs))


class Hidden(str):
    """A secret setting's value: a str whose repr does not give it away."""

    def __repr__(self) -> str:
        return "Hidden('***')"


class Array(fields.List):
    """A TOML array of items of one field type."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "required": "is required",
        "invalid": "must be an array, got {input!r}",
    }

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> list:
        if not isinstance(value, list):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class Table(fields.Nested):
    """A TOML table loaded by a settings schema."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "required": "is required",
        "type": "must be a table, got {input!r}",
    }

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> Any:
        if not isinstance(value, Mapping):
            raise self.make_error("type", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class Settings(Schema):
    """Base of a settings schema: load() gives a `model` instance (arrays as tuples), or a dict."""

    model: ClassVar[Callable[..., Any] | None] = None
    error_messages: ClassVar[dict[str, str]] = {"unknown": "unknown key"}

    class Meta:
        unknown = RAISE

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: object) -> Any:
        data = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
        return data if self.model is None else self.model(**data)


def not_empty(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be empty")


def positive(value: float) -> None:
    if value <= 0:
        raise ValidationError(f"must be positive, got {value}")


def not_negative(value: float) -> None:
    if value < 0:
        raise ValidationError(f"must not be negative, got {value}")


def between(low: int, high: int) -> Rule:
    """A rule for numbers from low to high, both included."""

    def check(value: float) -> None:
        if not low <= value <= high:
            raise ValidationError(f"must be {low} to {high}, got {value}")

    return check


def one_of(choices: Collection[object]) -> Rule:
    """A rule for values from a fixed list."""

    def check(value: object) -> None:
        if value not in choices:
            raise ValidationError(f"must be one of {', '.join(map(str, choices))}, got {value!r}")

    return check


def unique(key: str) -> Rule:
    """A rule for an array of tables (or dataclasses) in which each one's key differs."""

    def check(items: list) -> None:
        seen: set[object] = set()
        for index, item in enumerate(items):
            value = item[key] if isinstance(item, Mapping) else getattr(item, key)
            if value in seen:
                raise ValidationError({index: {key: [f'"{value}" is already used']}})
            seen.add(value)

    return check


def first_error(messages: object, path: str) -> tuple[str, str]:
    """The first problem in marshmallow's nested error messages, with its key path."""
    if isinstance(messages, Mapping):
        key, inner = next(iter(messages.items()))
        if key != "_schema":
            path = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        return first_error(inner, path)
    if isinstance(messages, list) and messages:
        return first_error(messages[0], path)
    return path, str(messages)


def load(schema: Schema, data: object, path: str, board: str | None = None, **options: Any) -> Any:
    """schema.load(data), with every refusal a HardwareConfigError naming the key path."""
    if not isinstance(data, Mapping):
        raise HardwareConfigError(f"{path}: must be a table, got {data!r}", board)
    try:
        return schema.load(data, **options)
    except ValidationError as exc:
        raise config_error(exc, path, board) from None


def config_error(exc: ValidationError, path: str, board: str | None = None) -> HardwareConfigError:
    """The HardwareConfigError for a refusal under path."""
    where, problem = first_error(exc.messages, path)
    return HardwareConfigError(f"{where}: {problem}", board)
