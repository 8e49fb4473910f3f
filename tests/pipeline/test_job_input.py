"""A workflow declares its job input; bad input is refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import ValidationError
from pipeline.job_input import URL_INPUT, JobInput
from pipeline.workflow import PRD_WORKFLOW
from tests.pipeline.input_apps import TALLY, TALLY_INPUT

RESIZE = JobInput(
    required={"image": str, "width": int},
    optional={"height": int, "scale": float, "tags": list, "opts": dict, "keep": bool},
)


def test_a_valid_input_comes_back_checked_and_in_declared_order() -> None:
    data = {"width": 64, "image": "cat.png", "tags": ["a"], "height": None}
    assert RESIZE.validate(data) == {"image": "cat.png", "width": 64, "tags": ["a"]}
    assert list(RESIZE.validate(data)) == ["image", "width", "tags"]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"width": 64}, "input.image", "is required"),
        ({"image": None, "width": 64}, "input.image", "is required"),
        ({"image": "a", "width": "64"}, "input.width", "must be int, not str"),
        ({"image": "a", "width": True}, "input.width", "must be int, not bool"),
        ({"image": "a", "width": 1.5}, "input.width", "must be int, not float"),
        ({"image": "a", "width": 1, "scale": "x"}, "input.scale", "must be float"),
        ({"image": "a", "width": 1, "keep": 1}, "input.keep", "must be bool, not int"),
        ({"image": "a", "width": 1, "tags": {}}, "input.tags", "must be list, not dict"),
        ({"image": "a", "width": 1, "size": 3}, "input.size", "is not an input of this workflow"),
        (["image"], "input", "must be a JSON object, not list"),
        ("cat.png", "input", "must be a JSON object, not str"),
        ({"image": "a", "width": 1, "scale": float("nan")}, "input", "is not JSON"),
        ({"image": "a\ud800", "width": 1}, "input", "not valid UTF-8"),
    ],
)
def test_bad_input_names_the_field(data: Any, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RESIZE.validate(data)
    assert caught.value.field == field
    assert words in caught.value.problem


def test_a_float_key_takes_integers_too() -> None:
    assert RESIZE.validate({"image": "a", "width": 1, "scale": 2})["scale"] == 2


def test_the_whole_input_check_runs_last_and_names_its_field() -> None:
    assert TALLY_INPUT.validate({"numbers": [1, 2]}) == {"numbers": [1, 2]}
    with pytest.raises(ValidationError) as caught:
        TALLY_INPUT.validate({"numbers": [1, "2"]})
    assert caught.value.field == "input.numbers[1]"


def test_a_check_raising_value_error_becomes_a_validation_error() -> None:
    def even(data: dict[str, Any]) -> dict[str, Any]:
        if data["n"] % 2:
            raise ValueError("n must be even")
        return {**data, "half": data["n"] // 2}

    spec = JobInput(required={"n": int}, optional={"half": int}, check=even)
    assert spec.validate({"n": 4}) == {"n": 4, "half": 2}
    with pytest.raises(ValidationError, match=r"^input: n must be even$"):
        spec.validate({"n": 3})


def test_a_check_alone_decides_when_no_key_is_declared() -> None:
    spec = JobInput(check=lambda data: {k: v for k, v in data.items() if k != "drop"})
    assert spec.validate({"anything": 1, "drop": 2}) == {"anything": 1}


def test_an_input_above_its_size_limit_is_refused() -> None:
    spec = JobInput(required={"text": str}, max_bytes=100)
    spec.validate({"text": "x" * 80})
    with pytest.raises(ValidationError, match=r"^input: is \d+ bytes of JSON, above the 100"):
        spec.validate({"text": "x" * 100})


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"required": {"a": int}, "optional": {"a": str}}, "both required and optional"),
        ({"required": {"a": set}}, "is not a JSON type"),
        ({"required": {"a": 3}}, "is not a type or a check"),
        ({"required": {"": str}}, "must be non-empty text"),
        ({"required": {"a": str}, "metadata_keys": ("url",)}, "are not input keys"),
    ],
)
def test_a_bad_declaration_is_refused_at_once(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        JobInput(**kwargs)


def test_describe_lists_each_key_and_its_type() -> None:
    assert TALLY_INPUT.describe() == {"required": {"numbers": "list"}, "optional": {"label": "str"}}
    assert set(URL_INPUT.describe()["required"]) == {"url"}


def test_the_media_pipeline_takes_a_url_and_an_optional_space_id() -> None:
    assert PRD_WORKFLOW.input is URL_INPUT
    assert URL_INPUT.validate({"url": "https://a.example/x.mp3", "space_id": None}) == {
        "url": "https://a.example/x.mp3"
    }
    with pytest.raises(ValidationError) as caught:
        URL_INPUT.validate({"url": "ftp://a.example/x.mp3"})
    assert caught.value.field == "metadata.url"
    with pytest.raises(ValidationError) as caught:
        URL_INPUT.validate({"url": "https://a.example/x", "space_id": "<b>"})
    assert caught.value.field == "metadata.space_id"


def test_a_workflow_with_its_own_input_keeps_it() -> None:
    assert TALLY.input is TALLY_INPUT
    with pytest.raises(ValueError, match="input must be a JobInput"):
        TALLY.__class__(**{**TALLY.__dict__, "input": {"numbers": list}})
