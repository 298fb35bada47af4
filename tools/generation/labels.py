"""Domain label trees and a label per sample.

A tree comes from the user (a YAML/JSON file) or is built by one LLM call from the documents' outlines
(their heading paths), which already say what a corpus is about. Labels are ``Parent/Child`` paths. A
sample is labelled inside the review call (see :func:`label_instruction`), so labelling costs no call of
its own; :func:`label_samples` does it standalone in one call per batch. A label the model invents that is
not in the tree is never written: :meth:`LabelTree.resolve` maps it onto the tree or returns None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ftds.tools.config import BuildSettings
from ftds.tools.generation.generate import call_structured
from ftds.tools.generation.prompts import domain_preset, load_template
from ftds.tools.llm.base import ChatModel
from ftds.tools.reasons import Reason, Stage, call_failure
from ftds.tools.records import ItemOutcome, TokenUsage

MAX_OUTLINE_LINES = 200


class LabelNode(BaseModel):
    name: str = Field(min_length=1)
    children: list[LabelNode] = Field(default_factory=list)


class LabelTree(BaseModel):
    labels: list[LabelNode] = Field(min_length=1)
    prompt_version: str = Field(default="user", description="Template that built the tree, or 'user'.")

    def paths(self) -> list[str]:
        """Every label as a ``Parent/Child`` path, leaves and inner nodes alike."""
        out: list[str] = []

        def walk(nodes: list[LabelNode], prefix: str) -> None:
            for node in nodes:
                path = f"{prefix}/{node.name.strip()}" if prefix else node.name.strip()
                out.append(path)
                walk(node.children, path)

        walk(self.labels, "")
        return out

    def resolve(self, label: str) -> str | None:
        """The tree path ``label`` names: exact path, else a unique node name match; None otherwise."""
        label = label.strip().strip("/")
        if not label:
            return None
        paths = self.paths()
        if label in paths:
            return label
        tail = label.rsplit("/", 1)[-1]
        matches = [p for p in paths if p.rsplit("/", 1)[-1] == tail]
        return matches[0] if len(matches) == 1 else None

    @classmethod
    def load(cls, path: Path) -> LabelTree:
        """A user's tree: YAML/JSON, either ``{labels: [...]}`` or a nested mapping ``{Parent: [Child, ...]}``."""
        if not path.is_file():
            raise ValueError(f"label tree file {path} does not exist")
        import yaml  # lazily: not needed to start the MCP server

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            if isinstance(data, dict) and "labels" in data:
                return cls.model_validate(data)
            return cls(labels=_nodes_from_plain(data))
        except (ValidationError, TypeError) as exc:
            raise ValueError(
                f"{path}: a label tree is {{labels: [{{name, children}}]}} or a nested mapping of names ({exc})"
            ) from None


def _nodes_from_plain(data: object) -> list[LabelNode]:
    if isinstance(data, dict):
        return [LabelNode(name=str(k), children=_nodes_from_plain(v) if v else []) for k, v in data.items()]
    if isinstance(data, list):
        nodes: list[LabelNode] = []
        for item in data:
            nodes.extend(_nodes_from_plain(item) if isinstance(item, dict) else [LabelNode(name=str(item))])
        return nodes
    raise TypeError(f"unexpected {type(data).__name__} in label tree")


def outline_text(heading_paths: Sequence[Sequence[str]]) -> str:
    """Distinct heading paths, one per line, in first-seen order (the documents' outline)."""
    seen: dict[str, None] = {}
    for path in heading_paths:
        if path:
            seen.setdefault(" > ".join(path), None)
    return "\n".join(list(seen)[:MAX_OUTLINE_LINES])


@dataclass
class LabelTreeResult:
    tree: LabelTree | None
    usage: TokenUsage
    failure: ItemOutcome | None = None


async def build_label_tree(
    heading_paths: Sequence[Sequence[str]],
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    language: str = "zh",
    prompt_dir: Path | None = None,
) -> LabelTreeResult:
    """One call: a two-level domain label tree from the documents' outlines."""
    settings = settings or BuildSettings()
    prompt_dir = prompt_dir or settings.prompt_dir
    template = load_template("label_tree", language, prompt_dir)
    preset = domain_preset(settings.domain, language, prompt_dir)
    outline = outline_text(heading_paths)
    if not outline:
        failure = ItemOutcome(
            item_id="label_tree",
            kind="chunk",
            status="failed",
            reason=Reason.LABELS_NO_OUTLINE,
            detail="the documents have no headings; supply a label tree file instead",
        )
        return LabelTreeResult(None, TokenUsage(), failure)
    messages = template.render(domain_name=preset.name, outline=outline)
    call = await call_structured(llm, messages, LabelTree)
    if call.value is None:
        failure = ItemOutcome(
            item_id="label_tree",
            kind="chunk",
            status="failed",
            reason=call_failure(Stage.LABELS, call.failure_reason),
            detail=call.failure_detail,
        )
        return LabelTreeResult(None, call.usage, failure)
    assert isinstance(call.value, LabelTree)
    copied = _names(call.value.labels) & set(re.findall(r'"name":\s*"([^"]+)"', template.user))
    if copied:  # small models return the prompt's example tree ("一级标签/二级标签") as their answer
        failure = ItemOutcome(
            item_id="label_tree",
            kind="chunk",
            status="failed",
            reason=Reason.LABELS_COPIED_EXAMPLE,
            detail=f"the model repeated the prompt's example names {sorted(copied)}",
        )
        return LabelTreeResult(None, call.usage, failure)
    return LabelTreeResult(call.value.model_copy(update={"prompt_version": template.version}), call.usage)


def _names(nodes: Sequence[LabelNode]) -> set[str]:
    return {node.name for node in nodes} | {name for node in nodes for name in _names(node.children)}


def outline_tree(heading_paths: Sequence[Sequence[str]], max_children: int = 12) -> LabelTree | None:
    """A label tree read straight off the documents' outline (title -> first sub-heading), no model needed:
    the fallback when the model's tree is unusable, and sensible for statutes (law -> chapter)."""
    tree: dict[str, list[str]] = {}
    for path in heading_paths:
        if not path:
            continue
        children = tree.setdefault(path[0], [])
        if len(path) > 1 and path[1] not in children and len(children) < max_children:
            children.append(path[1])
    if not tree:
        return None
    return LabelTree(
        labels=[LabelNode(name=top, children=[LabelNode(name=c) for c in kids]) for top, kids in tree.items()]
    )


_INSTRUCTION = {
    "zh": "另外，从下列标签中为每条选择最合适的一个，写入 label 字段（写完整路径）：\n",
    "en": "Also pick the single best label for each pair from this list and put its full path in the label field:\n",
}


def label_instruction(tree: LabelTree | None, language: str) -> str:
    """The review prompt's ``$label_instruction`` block; empty without a tree."""
    if tree is None:
        return ""
    return _INSTRUCTION.get(language, _INSTRUCTION["en"]) + "\n".join(f"- {p}" for p in tree.paths())
