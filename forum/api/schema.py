"""A small declarative schema: validates JSON bodies and describes them in the OpenAPI document.

One description serves both, so the document cannot drift from what the code accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forum.errors import N_, ValidationFailed
from forum.services.text import text_is_clean

INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Str:
    min_length: int = 0
    max_length: int = 10_000
    enum: tuple[str, ...] | None = None
    format: str | None = None
    description: str = ""
    nullable: bool = False

    def json_schema(self) -> dict:
        schema: dict[str, Any] = {"type": "string", "minLength": self.min_length, "maxLength": self.max_length}
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.format:
            schema["format"] = self.format
        return _describe(schema, self)

    def check(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, str):
            raise TypeError(N_("Must be text."))
        if not text_is_clean(value):
            raise ValueError(N_("Contains characters that are not allowed."))
        if self.enum and value not in self.enum:
            raise ValueError(N_("Not one of the allowed values."))
        if len(value) > self.max_length:
            raise ValueError(N_("Too long."))
        if len(value) < self.min_length:
            raise ValueError(N_("Too short."))
        return value


@dataclass(frozen=True)
class Int:
    minimum: int | None = None
    maximum: int | None = None
    description: str = ""
    nullable: bool = False

    # without explicit bounds, what a 32-bit integer column holds: a larger number must be refused, not overflow
    def bounds(self) -> tuple[int, int]:
        return (self.minimum if self.minimum is not None else -INT32_MAX,
                self.maximum if self.maximum is not None else INT32_MAX)

    def json_schema(self) -> dict:
        low, high = self.bounds()
        return _describe({"type": "integer", "minimum": low, "maximum": high}, self)

    def check(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(N_("Must be a whole number."))
        low, high = self.bounds()
        if not low <= value <= high:
            raise ValueError(N_("Out of range."))
        return value


@dataclass(frozen=True)
class Bool:
    description: str = ""
    nullable: bool = False

    def json_schema(self) -> dict:
        return _describe({"type": "boolean"}, self)

    def check(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, bool):
            raise TypeError(N_("Must be true or false."))
        return value


@dataclass(frozen=True)
class Obj:
    properties: dict[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    description: str = ""
    nullable: bool = False
    additional: bool = False

    def json_schema(self) -> dict:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: spec.json_schema() for name, spec in self.properties.items()},
        }
        if self.required:
            schema["required"] = list(self.required)
        if not self.additional and self.properties:
            schema["additionalProperties"] = False
        return _describe(schema, self)

    def check(self, value: Any) -> dict:
        if not isinstance(value, dict):
            raise ValidationFailed(N_("The body must be a JSON object."))
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        for name in self.required:
            if name not in value:
                errors[name] = N_("This field is required.")
        for name, item in value.items():
            spec = self.properties.get(name)
            if spec is None:
                if not self.additional:
                    errors[str(name)[:64]] = N_("Unknown field.")
                continue
            try:
                out[name] = spec.check(item)
            except (TypeError, ValueError) as exc:
                errors[name] = str(exc)
        if errors:
            raise ValidationFailed(fields=errors)
        return out


@dataclass(frozen=True)
class Arr:
    items: Any
    max_items: int = 100
    description: str = ""
    nullable: bool = False

    def json_schema(self) -> dict:
        return _describe({"type": "array", "items": self.items.json_schema(), "maxItems": self.max_items}, self)

    def check(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, list):
            raise TypeError(N_("Must be a list."))
        if len(value) > self.max_items:
            raise ValueError(N_("Too many items."))
        return [self.items.check(item) for item in value]


@dataclass(frozen=True)
class Any_:
    description: str = ""
    nullable: bool = False

    def json_schema(self) -> dict:
        return _describe({}, self)

    def check(self, value: Any) -> Any:
        return value


def _describe(schema: dict, spec: Any) -> dict:
    if spec.description:
        schema["description"] = spec.description
    if spec.nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


ERROR = Obj({"error": Obj({
    "code": Str(description="machine-readable error code"),
    "message": Str(description="human-readable message in the viewer's language"),
    "fields": Obj(additional=True, description="per-field messages, for validation errors"),
}, required=("code", "message"), additional=True)}, required=("error",))
