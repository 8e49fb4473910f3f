"""What a job takes as input: a JSON object that its workflow declares and checks.

A :class:`JobInput` names the keys a job's input must or may have and what each value
must be: a JSON type (``str``, ``int``, ``float``, ``bool``, ``list``, ``dict``), a tuple
of them, or a check ``f(value, field) -> value`` that raises :class:`ValidationError`
naming ``field``. An optional ``check`` sees the whole object last (rules across keys).
The input is validated before anything is stored, kept with the job, shown in its record
and handed to every stage in the job context (``ctx["input"]``).

The reference media pipeline takes :data:`URL_INPUT`, ``{url, space_id}``, mirrored into
the record's PRD ``metadata``; every workflow that declares no input takes it too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline import validation as v
from pipeline.errors import ValidationError

__all__ = ["URL_INPUT", "FieldCheck", "FieldSpec", "InputCheck", "JobInput", "encode_input"]

FieldCheck = Callable[[Any, str], Any]
"""Checks one value: ``f(value, field)`` returns the value to keep or raises
:class:`ValidationError` naming ``field``."""

FieldSpec = type | tuple[type, ...] | FieldCheck
"""What a key's value must be: a JSON type, a tuple of types, or a :data:`FieldCheck`."""

InputCheck = Callable[[dict[str, Any]], dict[str, Any]]
"""Checks the whole input after its keys: returns the input to keep or raises
:class:`ValidationError`."""

MAX_INPUT_BYTES = 16 * 1024
_JSON_TYPES = (str, int, float, bool, list, dict, type(None))


def _type_name(spec: FieldSpec) -> str:
    if isinstance(spec, tuple):
        return " or ".join(_type_name(t) for t in spec)
    if isinstance(spec, type):
        return "null" if spec is type(None) else spec.__name__
    doc = (spec.__doc__ or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else getattr(spec, "__name__", "checked")


def _is_a(value: Any, kind: type) -> bool:
    if isinstance(value, bool) and kind in (int, float):
        return False  # JSON has no bool-as-number, and True == 1 would slip through
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


@dataclass(frozen=True)
class JobInput:
    """The input a workflow's jobs take: a JSON object, checked before anything is stored.

    ``required`` and ``optional`` map keys to a :data:`FieldSpec`; an optional key given
    as ``None`` counts as absent. Keys not declared are refused, unless no key is declared
    at all (then ``check`` alone decides). ``check`` runs last on the whole object.
    Errors name the key as ``<prefix><key>`` (``input.width``). ``metadata_keys`` are
    the keys also shown in the record's PRD ``metadata`` (``url`` and ``space_id``).
    """

    required: Mapping[str, FieldSpec] = field(default_factory=dict)
    optional: Mapping[str, FieldSpec] = field(default_factory=dict)
    check: InputCheck | None = None
    max_bytes: int = MAX_INPUT_BYTES
    prefix: str = "input."
    metadata_keys: tuple[str, ...] = ()
    example: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None
    """One valid input, or a function that makes one (it may create what the input names,
    such as a file to read). The audit submits its jobs with it; without it the audit
    builds one from the declared types when it can."""

    def __post_init__(self) -> None:
        both = set(self.required) & set(self.optional)
        if both:
            raise ValueError(f"job input keys both required and optional: {sorted(both)}")
        for key, spec in {**self.required, **self.optional}.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"job input key {key!r} must be non-empty text")
            if not isinstance(spec, tuple) and not isinstance(spec, type):
                if not callable(spec):
                    raise ValueError(f"job input key {key!r}: {spec!r} is not a type or a check")
                continue
            for kind in spec if isinstance(spec, tuple) else (spec,):
                if kind not in _JSON_TYPES:
                    raise ValueError(f"job input key {key!r}: {kind!r} is not a JSON type")
        unknown = set(self.metadata_keys) - set(self.required) - set(self.optional)
        if unknown:
            raise ValueError(f"metadata_keys {sorted(unknown)} are not input keys")

    def sample(self) -> dict[str, Any]:
        """One valid input: :attr:`example` checked, or one built from the declared types.

        Raises :class:`ValueError` saying what to declare when neither is possible.
        """
        if self.example is not None:
            made = self.example() if callable(self.example) else self.example
            return self.validate(made)
        built = {key: _SAMPLES.get(spec) for key, spec in self.required.items()}
        unknown = sorted(key for key, value in built.items() if value is None)
        if unknown:
            raise ValueError(
                f"no sample input: keys {unknown} have checks of their own; declare one "
                "with JobInput(..., example={...}) or example=a function that makes one"
            )
        try:
            return self.validate(built)
        except ValidationError as exc:
            raise ValueError(
                f"no sample input: {exc}; declare one with JobInput(..., example=...)"
            ) from exc

    @property
    def keys(self) -> frozenset[str]:
        """Every declared key, required or optional."""
        return frozenset(self.required) | frozenset(self.optional)

    def validate(self, data: object) -> dict[str, Any]:
        """The checked input (a new dict), or :class:`ValidationError` naming the field."""
        if not isinstance(data, Mapping):
            raise ValidationError(
                self.prefix.rstrip("."), f"must be a JSON object, not {_kind(data)}"
            )
        # The write gate first: no check of ours or the workflow's sees a value that is
        # not JSON, too deep, far too big or not UTF-8 (the exact size is checked last).
        v.check_json_value(dict(data), self.prefix.rstrip("."), max_chars=4 * self.max_bytes)
        given = {k: val for k, val in data.items() if not (k in self.optional and val is None)}
        self._check_keys(given)
        out = {key: self._value(key, given[key]) for key in self._ordered(given)}
        if self.check is not None:
            out = self._whole(out)
        self._check_json(out)
        return out

    def describe(self) -> dict[str, Any]:
        """A short JSON description: ``{"required": {"width": "int"}, "optional": {...}}``."""
        return {
            "required": {k: _type_name(s) for k, s in self.required.items()},
            "optional": {k: _type_name(s) for k, s in self.optional.items()},
        }

    # -- steps ------------------------------------------------------------------------

    def _ordered(self, given: Mapping[str, Any]) -> list[str]:
        declared = [k for k in (*self.required, *self.optional) if k in given]
        return declared + sorted(k for k in given if k not in self.keys)

    def _check_keys(self, given: Mapping[Any, Any]) -> None:
        for key in given:
            if not isinstance(key, str):
                raise ValidationError(self.prefix.rstrip("."), f"key {key!r} is not text")
        for key in self.required:
            if key not in given or given[key] is None:
                raise ValidationError(self.prefix + key, "is required")
        if not self.keys:
            return
        unknown = sorted(set(given) - self.keys)
        if unknown:
            expected = ", ".join((*self.required, *self.optional))
            raise ValidationError(
                self.prefix + unknown[0], f"is not an input of this workflow (expected {expected})"
            )

    def _value(self, key: str, value: Any) -> Any:
        spec = self.required.get(key, self.optional.get(key))
        name = self.prefix + key
        if spec is None:
            return value
        if isinstance(spec, tuple | type):
            kinds = spec if isinstance(spec, tuple) else (spec,)
            if not any(_is_a(value, kind) for kind in kinds):
                raise ValidationError(name, f"must be {_type_name(spec)}, not {_kind(value)}")
            return value
        return _checked(name, spec, value, name)

    def _whole(self, out: dict[str, Any]) -> dict[str, Any]:
        assert self.check is not None
        checked = _checked(self.prefix.rstrip("."), self.check, dict(out))
        if not isinstance(checked, dict):
            raise TypeError(f"the job input check returned {type(checked).__name__}, not a dict")
        return checked

    def _check_json(self, out: dict[str, Any]) -> None:
        v.encode_json(out, self.prefix.rstrip("."), self.max_bytes)


_SAMPLES: dict[Any, Any] = {
    str: "sample",
    int: 1,
    float: 1.0,
    bool: True,
    list: [],
    dict: {},
}
"""The value a sample input gives a key declared with a plain JSON type."""


def encode_input(data: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of a checked input (through the write gate: ValidationError
    for anything a reader could not show again)."""
    return v.encode_json(dict(data), "input", 2**62).encode("utf-8")


def _checked(field: str, check: Callable[..., Any], *args: Any) -> Any:
    """``check(*args)``; whatever it raises refuses the input as a :class:`ValidationError`
    on ``field`` (``KeyError`` too), so nothing is stored."""
    try:
        return check(*args)
    except ValidationError:
        raise
    except (ValueError, TypeError) as exc:  # the check's own words
        raise ValidationError(field, _refusal(exc, plain=True)) from None
    except Exception as exc:
        raise ValidationError(field, _refusal(exc)) from None


def _refusal(exc: Exception, *, plain: bool = False) -> str:
    """Why a check refused a value, in one line: ``plain`` its own words, else named by
    its type (a ``KeyError`` says only ``'width'``)."""
    try:
        lines = str(exc).strip().splitlines()
    except Exception:  # an exception that cannot describe itself is named by its type
        lines = []
    name = type(exc).__name__
    if plain and lines:
        return lines[0]
    return (
        f"refused by the check ({name}: {lines[0]})" if lines else f"refused by the check ({name})"
    )


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return type(value).__name__


URL_INPUT = JobInput(
    required={"url": v.check_url},
    optional={"space_id": v.check_space_id},
    prefix="metadata.",
    metadata_keys=("url", "space_id"),
)
"""The reference pipeline's input: an http(s) ``url`` and an optional ``space_id``."""
