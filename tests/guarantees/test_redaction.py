"""The one redaction holds for text as well as for values, whatever else shares the text.

A message, an error or a log line may hold a whole JSON document, a Python repr of one,
or several of them side by side. Each rule of the redaction (a URL's user-info, a
secret-named ``name=value`` or ``"name": value``, a container under a secret name) must
hide its secret there too, even where another rule's match runs into it: a user-info
without a path runs to the last ``@`` before one, through the key of the next secret.
"""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.redaction import MASK, Redactor
from tests.guarantees.hostile import SWALLOWED_KEY, Payload, payloads

REDACTOR = Redactor()
PROPERTY = settings(max_examples=300, deadline=None)


def _hidden(markers: tuple[str, ...], shown: str) -> None:
    for marker in markers:
        assert marker not in shown, f"{marker} shows in {shown[:500]!r}"


@PROPERTY
@given(payload=payloads(max_depth=40))
@example(payload=SWALLOWED_KEY)
def test_a_json_text_hides_every_secret_its_value_would(payload: Payload) -> None:
    # Slip: one rule's mask applied before the next rule looks, eating the name it needs.
    value = payload.build()
    _hidden(payload.markers, json.dumps(REDACTOR.value(value)))  # the value's own walk
    _hidden(payload.markers, REDACTOR.text(payload.text()))
    _hidden(payload.markers, REDACTOR.text(json.dumps(value, indent=2)))
    _hidden(payload.markers, REDACTOR.text(repr(value)))


@PROPERTY
@given(
    pieces=st.lists(payloads(max_depth=3), min_size=2, max_size=6),
    glue=st.sampled_from([" ", "", "\n", ", ", " @ ", "=", ": "]),
)
def test_texts_side_by_side_hide_every_secret(pieces: list[Payload], glue: str) -> None:
    # Many small pieces in one line: a log line naming several values.
    shown = REDACTOR.text(glue.join(p.text() for p in pieces))
    _hidden(tuple(m for p in pieces for m in p.markers), shown)


@PROPERTY
@given(payload=payloads(max_depth=3), limit=st.integers(1, 400))
@example(payload=SWALLOWED_KEY, limit=70)
def test_a_text_cut_anywhere_shows_no_secret_nor_its_beginning(
    payload: Payload, limit: int
) -> None:
    # At the bound: the cut may fall inside a secret; what is left of it must not show.
    text = payload.text()
    shown = REDACTOR.head(text, limit)
    assert len(shown) <= max(limit, len(MASK) + 2) or shown == REDACTOR.text(text)
    _hidden(payload.markers, shown)
    if shown.endswith("…"):
        tail = shown[:-1]
        for marker in payload.markers:
            assert not any(tail.endswith(marker[:k]) for k in range(3, len(marker))), (
                f"the cut shows the beginning of {marker}: {tail[-60:]!r}"
            )


def test_overlapping_masks_are_one_mask_and_the_rest_is_kept() -> None:
    text = '{"url": "https://u:pw@h", "token": "t@k", "n": 1} then //a:b@host/x'
    shown = REDACTOR.text(text)
    for secret in ("pw", "t@k", ":b@"):
        assert secret not in shown
    assert shown.endswith(" then //***@host/x")
    assert '"n": 1' in shown
    assert shown.count(MASK) == 2  # the first URL ran into the token: one part, one mask
