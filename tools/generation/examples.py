"""Few-shot examples: a handful of user-written samples that steer the style and shape of what is generated.

They are rendered into the generation prompts as plain text (not JSON), so a model copies their tone and
length rather than their content, and a prompt file needs only a ``$examples`` placeholder to use them.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

MAX_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 600


class FewShotExample(BaseModel):
    question: str
    answer: str


class ExamplesError(ValueError):
    pass


def load_examples(path: Path) -> list[FewShotExample]:
    """Examples from a JSON list or JSONL file of ``{"question", "answer"}`` objects (alpaca's
    ``instruction``/``output`` are accepted too); at most :data:`MAX_EXAMPLES` are used."""
    if not path.is_file():
        raise ExamplesError(f"examples file {path} does not exist; pass a JSON or JSONL file of question/answer")
    text = path.read_text(encoding="utf-8").strip()
    try:
        rows = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]
    except json.JSONDecodeError as exc:
        raise ExamplesError(f"{path}: not JSON or JSONL ({exc.msg} at line {exc.lineno})") from None
    examples: list[FewShotExample] = []
    for number, row in enumerate(rows, 1):
        if isinstance(row, dict) and "instruction" in row and "question" not in row:
            row = {"question": row["instruction"], "answer": row.get("output", "")}
        try:
            examples.append(FewShotExample.model_validate(row))
        except ValidationError:
            raise ExamplesError(f"{path}: example {number} needs string fields question and answer") from None
    return examples[:MAX_EXAMPLES]


_HEADINGS = {
    "zh": "参考示例（学习其风格、长度和形式，不要照抄内容）：",
    "en": "Examples of the wanted style (copy their tone, length and shape, not their content):",
}


def render_examples(examples: list[FewShotExample] | None, language: str) -> str:
    """The prompt block for ``$examples``; empty when there are none."""
    if not examples:
        return ""
    lines = [_HEADINGS.get(language, _HEADINGS["en"])]
    for example in examples[:MAX_EXAMPLES]:
        lines.append(f"Q: {example.question[:MAX_EXAMPLE_CHARS]}\nA: {example.answer[:MAX_EXAMPLE_CHARS]}")
    return "\n".join(lines)
