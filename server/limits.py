"""The bounds on every free-text MCP argument, in one place.

A client (or a model driving it) can send anything; without a bound, a 20 MB passage would go to the model as
one 3.5 M-token prompt. Each bound is in the tool's input schema (``maxLength`` / ``maxItems`` /
``maxProperties``), so a client can see it, and is checked before the tool runs with a sentence that gives
the limit and what to do instead. The passage limit equals the largest chunk ``load_literature`` can cut, so
any chunk it returns can be passed on whole.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import BeforeValidator, Field, ValidationInfo

MAX_PASSAGE_CHARS = 20_000
"""A source passage for generate_qa / critique_qa; also the largest chunk load_literature cuts."""
MAX_PAIR_TEXT_CHARS = 20_000
"""One question or answer given to critique_qa."""
MAX_PAIRS = 50
"""Question-answer pairs in one critique_qa call."""
MAX_PATH_CHARS = 4_096
"""One path (Linux PATH_MAX)."""
MAX_PATHS = 1_000
"""Paths in one call (each may be a folder holding many files)."""
MAX_QUERY_CHARS = 500
"""A dataset search query."""
MAX_NAME_CHARS = 200
"""A short name or id: domain, source, run id, split, field, licence, language, dataset name."""
MAX_LIST_ITEMS = 100
"""Items of a short list (registries, methods, file types, languages)."""
MAX_MAP_ENTRIES = 200
"""Entries of a mapping (column renames)."""
MAX_URL_CHARS = 2_048
"""An endpoint base URL: far above any real one. A URL is not a path, so its bound differs from MAX_PATH_CHARS
(the tests find path arguments by that bound)."""
MAX_NOTE_CHARS = 2_000
"""A reviewer's reason or note: a sentence or a short paragraph, longer than a name, shorter than a passage."""
MAX_LABEL_CHARS = 1_000
"""A label path (Parent/Child/...): several heading-length names joined, so longer than one name."""
MAX_IDS = 1_000
"""Sample ids in one selection (two review pages of the largest size)."""
MAX_EDIT_FIELDS = 50
"""Fields set by one sample edit (a Sample has fewer)."""
MAX_REQUEST_BYTES = 32 * 1024 * 1024
"""One HTTP request body: above every bounded argument even JSON-escaped, far below what would hurt memory."""


def too_long(name: str | None, value: str, limit: int, advice: str) -> str:
    return f"{name} is {len(value):,} characters long; at most {limit:,} are accepted: {advice}"


def _text_bound(limit: int, advice: str) -> BeforeValidator:
    def check(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise ValueError(too_long(info.field_name, value, limit, advice))
        return value

    return BeforeValidator(check)


def check_prompt_arguments(**arguments: str) -> None:
    """Prompt arguments are free text too (the SDK turns a validation error there into a bare "Internal server
    error", so they are checked here, as an invalid-params error with the sentence)."""
    for name, value in arguments.items():
        if len(value) > MAX_PATH_CHARS:
            advice = "pass a shorter value; name folders rather than every file"
            raise MCPError(INVALID_PARAMS, too_long(name, value, MAX_PATH_CHARS, advice))


def _size_bound(limit: int, unit: str, advice: str) -> BeforeValidator:
    def check(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, list | dict) and len(value) > limit:
            raise ValueError(f"{info.field_name} has {len(value):,} {unit}; at most {limit:,} are accepted: {advice}")
        return value

    return BeforeValidator(check)


Passage = Annotated[
    str,
    _text_bound(
        MAX_PASSAGE_CHARS,
        "split the document into chunks first (load_literature does, max_chars up to "
        f"{MAX_PASSAGE_CHARS:,}) and call the tool once per chunk",
    ),
    Field(min_length=1, max_length=MAX_PASSAGE_CHARS),
]
PairText = Annotated[
    str,
    _text_bound(MAX_PAIR_TEXT_CHARS, "shorten it, or critique a long answer part by part"),
    Field(max_length=MAX_PAIR_TEXT_CHARS),
]
PathText = Annotated[
    str,
    _text_bound(MAX_PATH_CHARS, "no file system accepts a longer path; pass a path relative to the root"),
    Field(max_length=MAX_PATH_CHARS),
]
NameText = Annotated[
    str,
    _text_bound(MAX_NAME_CHARS, "pass a short name or id"),
    Field(max_length=MAX_NAME_CHARS),
]
QueryText = Annotated[
    str,
    _text_bound(MAX_QUERY_CHARS, "search with a few keywords"),
    Field(max_length=MAX_QUERY_CHARS),
]

UrlText = Annotated[
    str,
    _text_bound(MAX_URL_CHARS, "pass the endpoint's base URL only (scheme, host, port, path)"),
    Field(max_length=MAX_URL_CHARS),
]
NoteText = Annotated[
    str,
    _text_bound(MAX_NOTE_CHARS, "say why in a sentence or two"),
    Field(max_length=MAX_NOTE_CHARS),
]
LabelText = Annotated[
    str,
    _text_bound(MAX_LABEL_CHARS, "use shorter label names"),
    Field(max_length=MAX_LABEL_CHARS),
]


def bounded_list(limit: int = MAX_LIST_ITEMS, advice: str = "pass fewer, in several calls") -> Any:
    """Metadata for ``Annotated[list[...], bounded_list(...)]``: the schema's maxItems and the checked error."""
    return _size_bound(limit, "items", advice)


PATHS_BOUND = bounded_list(MAX_PATHS, "pass a folder instead of its files, or split the work over several calls")
MAP_BOUND = _size_bound(MAX_MAP_ENTRIES, "entries", "rename fewer columns")

LIST_BOUND = bounded_list()
PathList = Annotated[list[PathText], PATHS_BOUND, Field(max_length=MAX_PATHS)]
NameList = Annotated[list[NameText], LIST_BOUND, Field(max_length=MAX_LIST_ITEMS)]
NameMap = Annotated[dict[NameText, NameText], MAP_BOUND, Field(json_schema_extra={"maxProperties": MAX_MAP_ENTRIES})]
IdList = Annotated[
    list[NameText],
    bounded_list(MAX_IDS, "select by a filter instead, or split the selection"),
    Field(max_length=MAX_IDS),
]


def _edit_bound(value: Any, info: ValidationInfo) -> Any:
    """An edit payload's values may be whole answers or lists of turns: every string in it, however deep, is
    bounded like one question or answer, every list in it (turns) holds at most MAX_IDS items, and the payload
    has at most MAX_EDIT_FIELDS fields."""
    if isinstance(value, dict) and len(value) > MAX_EDIT_FIELDS:
        raise ValueError(
            f"{info.field_name} has {len(value):,} entries; at most {MAX_EDIT_FIELDS:,} are accepted: "
            "set fewer fields per call"
        )
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and len(item) > MAX_PAIR_TEXT_CHARS:
            raise ValueError(too_long(info.field_name, item, MAX_PAIR_TEXT_CHARS, "shorten the value"))
        if isinstance(item, dict):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            if len(item) > MAX_IDS:
                raise ValueError(
                    f"{info.field_name} holds a list of {len(item):,} items; at most {MAX_IDS:,} are accepted: "
                    "shorten the list"
                )
            pending += item
    return value


EditMap = Annotated[
    dict[NameText, Any],
    BeforeValidator(_edit_bound),
    Field(json_schema_extra={"maxProperties": MAX_EDIT_FIELDS}),
]
"""Sample fields to set: bounded field names, at most MAX_EDIT_FIELDS, every string value (nested too) at most
MAX_PAIR_TEXT_CHARS (the JSON schema can state only the entry count)."""
