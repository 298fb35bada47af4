import pytest
from pydantic import BaseModel

from ftds.tools.generation.structured import ParseFailure, parse_reply, split_think


class Pairs(BaseModel):
    pairs: list[dict[str, str]]


def test_fenced_json_is_parsed() -> None:
    reply = 'Here you go:\n```json\n{"pairs": [{"question": "q", "answer": "a"}]}\n```'
    assert parse_reply(reply, Pairs).pairs == [{"question": "q", "answer": "a"}]


def test_think_block_is_split_off_and_kept() -> None:
    answer, reasoning = split_think('<think>step 1\nstep 2</think>{"pairs": []}')
    assert answer == '{"pairs": []}'
    assert reasoning == "step 1\nstep 2"


def test_reply_cut_off_inside_think_has_no_answer() -> None:
    answer, reasoning = split_think("<think>still thinking")
    assert answer == ""
    assert reasoning == "still thinking"


def test_broken_json_is_repaired() -> None:
    reply = '{"pairs": [{"question": "q", "answer": "a",}]'  # trailing comma, missing brace
    assert parse_reply(reply, Pairs).pairs[0]["answer"] == "a"


def test_prose_reply_fails_with_raw_text_kept() -> None:
    with pytest.raises(ParseFailure) as info:
        parse_reply("I cannot help with that.", Pairs)
    assert info.value.raw == "I cannot help with that."


def test_wrong_shape_names_the_field() -> None:
    with pytest.raises(ParseFailure, match="pairs"):
        parse_reply('{"items": []}', Pairs)


def test_empty_reply_fails() -> None:
    with pytest.raises(ParseFailure, match="empty"):
        parse_reply("   ", Pairs)
