"""One safe token comparison: constant time, any characters, False for a missing side."""

from __future__ import annotations

import secrets

import pytest

from server.core.tokens import same_token, token_hash


def test_compare_digest_alone_refuses_non_ascii_text():
    with pytest.raises(TypeError):
        secrets.compare_digest("token", "tökén")


@pytest.mark.parametrize(
    ("expected", "given", "same"),
    [
        ("abc", "abc", True),
        ("abc", "abd", False),
        ("abc", "tökén-☃", False),
        ("tökén", "tökén", True),
        ("abc", None, False),
        (None, "abc", False),
        ("", "", False),
        ("abc", "\udcff", False),  # a lone surrogate (a broken decoding) is still just wrong
    ],
)
def test_same_token(expected, given, same):
    assert same_token(expected, given) is same


def test_the_hash_takes_any_text():
    assert token_hash("tökén") != token_hash("token") and len(token_hash("\udcff")) == 64
