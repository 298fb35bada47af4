"""Task-shaped formats from the seed "Dataset Knowledge" and TRL: preference (TRL prompt/chosen/rejected),
KTO (TRL prompt/completion/label), CoT, domain-tagged, reward-scored, classification, pretraining text and
single-file multimodal records.

They are single-turn shapes: writing a multi-turn conversation to one of them keeps the last exchange and
names what was dropped (history, system, tools), so a conversion never loses data without saying so.
"""

from __future__ import annotations

import re
from typing import Any

from ftds.tools.formats.chat import put_extras, read_alpaca, write_alpaca
from ftds.tools.formats.model import MEDIA_KINDS, Conversation, FormatError


def _last_exchange(conv: Conversation, dropped: list[str], keep_system: bool = False) -> tuple[str, str]:
    """The final user prompt and answer of a single-turn shape, recording what does not fit."""
    if conv.text is not None and not conv.turns:
        raise FormatError("a pretraining text has no question and answer; convert it to 'pretrain' only")
    if conv.has_tool_turns:
        raise FormatError("function_call/observation turns do not fit a single-turn format; use sharegpt or openai")
    if conv.is_preference:
        raise FormatError("a preference record has no single answer; convert it to trl, alpaca or sharegpt")
    if len(conv.turns) > 2:
        dropped.append("history")
    if conv.system and not keep_system:
        dropped.append("system")
    if conv.tools:
        dropped.append("tools")
    if conv.kto_tag is not None:
        dropped.append(conv.kto_key)
    return conv.turns[-2][1], conv.turns[-1][1]


def _carry(record: dict[str, Any], conv: Conversation, dropped: list[str], media: bool = True) -> dict[str, Any]:
    for kind, files in conv.media.items():
        if files:
            if media:
                record[kind] = list(files)
            else:
                dropped.append(kind)
    return put_extras(record, conv.extra, dropped)


def _str_field(record: dict[str, Any], key: str, fmt: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise FormatError(f"{fmt} record needs a string '{key}'")
    return value


# --- TRL preference: {"prompt", "chosen", "rejected"} as strings or message lists -------------------------


def _messages_to_turns(messages: list[Any]) -> tuple[list[tuple[str, str]], str]:
    system, turns = "", []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FormatError(f"prompt message {index + 1} is not an object")
        role, content = message.get("role"), message.get("content")
        if role == "system" and index == 0:
            system = str(content or "")
        elif role in ("user", "assistant"):
            turns.append((role, content if isinstance(content, str) else ""))
        else:
            raise FormatError(f"prompt message {index + 1} has role {role!r}; expected user or assistant")
    return turns, system


def _answer(value: Any, name: str) -> str:
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        value = value[-1].get("content")
    if not isinstance(value, str):
        raise FormatError(f"trl record needs '{name}' as a string or a list of assistant messages")
    return value


def read_trl(record: dict[str, Any]) -> Conversation:
    prompt = record.get("prompt")
    if isinstance(prompt, list):
        turns, system = _messages_to_turns(prompt)
    elif isinstance(prompt, str):
        turns, system = [("user", prompt)], ""
    else:
        raise FormatError("trl record needs 'prompt' (a string or a list of messages)")
    extra = {k: v for k, v in record.items() if k not in {"prompt", "chosen", "rejected", *MEDIA_KINDS}}
    media = {k: list(record[k]) for k in MEDIA_KINDS if record.get(k)}
    return Conversation(
        turns,
        system=system,
        extra=extra,
        media=media,
        chosen=_answer(record.get("chosen"), "chosen"),
        rejected=_answer(record.get("rejected"), "rejected"),
    )


def write_trl(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    if not conv.is_preference:
        raise FormatError("not a preference record: trl needs 'chosen' and 'rejected' answers")
    if conv.has_tool_turns:
        raise FormatError("function_call/observation turns do not fit trl preference data; use sharegpt")
    if conv.tools:
        dropped.append("tools")
    if conv.kto_tag is not None:
        dropped.append(conv.kto_key)
    # Always the conversational form: it holds system prompts and earlier turns, and one form per file keeps
    # the 'prompt' column a single type (a mix of strings and lists is rejected by Arrow-based loaders).
    prompt = [{"role": "system", "content": conv.system}] if conv.system else []
    prompt += [{"role": role, "content": content} for role, content in conv.turns]
    record: dict[str, Any] = {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": conv.chosen}],
        "rejected": [{"role": "assistant", "content": conv.rejected}],
    }
    return _carry(record, conv, dropped)


# --- TRL unpaired KTO: {"prompt", "completion", "label": bool} -------------------------------------------


def read_kto(record: dict[str, Any]) -> Conversation:
    label = record.get("label")
    if not isinstance(label, bool):
        raise FormatError(f"kto record needs a boolean 'label' (desirable or not), got {label!r}")
    extra = {k: v for k, v in record.items() if k not in {"prompt", "completion", "label"}}
    turns = [("user", _str_field(record, "prompt", "kto")), ("assistant", _str_field(record, "completion", "kto"))]
    return Conversation(turns, extra=extra, kto_tag=label)


def write_kto(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    if conv.kto_tag is None:
        raise FormatError("no KTO label: kto needs each record tagged desirable (true) or not (false)")
    tag = conv.kto_tag
    prompt, completion = _last_exchange(conv, dropped)
    dropped[:] = [d for d in dropped if d != conv.kto_key]
    return _carry({"prompt": prompt, "completion": completion, "label": tag}, conv, dropped, media=False)


# --- CoT: {"instruction", "input", "chain_of_thought": [steps], "output"} ----------------------------------

_THINK = re.compile(r"\A\s*<think>(.*?)</think>\s*(.*)\Z", re.DOTALL)


def read_cot(record: dict[str, Any]) -> Conversation:
    steps = record.get("chain_of_thought")
    if isinstance(steps, str):
        steps = [steps]
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise FormatError("cot record needs 'chain_of_thought' as a list of step strings")
    rest = {k: v for k, v in record.items() if k != "chain_of_thought"}
    if steps and isinstance(rest.get("output"), str):
        rest["output"] = "<think>" + "\n".join(steps) + "</think>" + rest["output"]
    return read_alpaca(rest)


def write_cot(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    record = write_alpaca(conv, dropped)
    if "output" not in record:
        raise FormatError("a preference record has no single answer to attach a chain of thought to")
    match = _THINK.match(record["output"])
    steps: list[str] = []
    if match:
        steps = [s for s in match.group(1).split("\n") if s.strip()]
        record["output"] = match.group(2)
    output = record.pop("output")
    record["chain_of_thought"] = steps
    record["output"] = output
    return record


# --- Domain-tagged instruction: alpaca + "domain" ----------------------------------------------------------


def read_domain(record: dict[str, Any]) -> Conversation:
    if not isinstance(record.get("domain"), str) or not record["domain"].strip():
        raise FormatError("domain record needs a non-empty 'domain' (e.g. 法律, 医疗)")
    return read_alpaca(record)


def write_domain(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    domain = conv.extra.get("domain")
    if not isinstance(domain, str) or not domain.strip():
        raise FormatError("no 'domain' on this record: map a field to domain (--map domain=FIELD)")
    return write_alpaca(conv, dropped)


# --- Reward-scored: {"input", "output", "reward_score": 0..5} ----------------------------------------------


def read_reward(record: dict[str, Any]) -> Conversation:
    score = record.get("reward_score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise FormatError(f"reward record needs a numeric 'reward_score', got {score!r}")
    extra = {k: v for k, v in record.items() if k not in {"input", "output", "system", *MEDIA_KINDS}}
    turns = [("user", _str_field(record, "input", "reward")), ("assistant", _str_field(record, "output", "reward"))]
    media = {k: list(record[k]) for k in MEDIA_KINDS if record.get(k)}
    return Conversation(turns, system=str(record.get("system") or ""), extra=extra, media=media)


def write_reward(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    score = conv.extra.get("reward_score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise FormatError("no numeric 'reward_score' on this record: map a score field (--map reward_score=FIELD)")
    prompt, answer = _last_exchange(conv, dropped, keep_system=True)
    record: dict[str, Any] = {"input": prompt, "output": answer}
    if conv.system:
        record["system"] = conv.system
    return _carry(record, conv, dropped)


# --- Classification: {"text", "label"} ----------------------------------------------------------------------


def read_classification(record: dict[str, Any]) -> Conversation:
    label = record.get("label")
    if isinstance(label, bool) or label is None:
        raise FormatError(f"classification record needs a 'label' (string or number), got {label!r}")
    extra = {k: v for k, v in record.items() if k not in {"text", "label"}}
    if not isinstance(label, str):
        extra["label_type"] = type(label).__name__
    return Conversation(
        [("user", _str_field(record, "text", "classification")), ("assistant", str(label))], extra=extra
    )


def write_classification(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    text, label = _last_exchange(conv, dropped)
    extra = dict(conv.extra)
    label_type = extra.pop("label_type", None)
    value: Any = label
    if label_type in ("int", "float"):
        try:
            value = int(label) if label_type == "int" else float(label)
        except ValueError:
            value = label
    record: dict[str, Any] = {"text": text, "label": value}
    put_extras(record, extra, dropped)
    return _carry(record, Conversation([], media=conv.media), dropped, media=False)


# --- Pretraining text: {"text"} -----------------------------------------------------------------------------


def read_pretrain(record: dict[str, Any]) -> Conversation:
    return Conversation(
        [], extra={k: v for k, v in record.items() if k != "text"}, text=_str_field(record, "text", "pretrain")
    )


def write_pretrain(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    if conv.kto_tag is not None:
        dropped.append(conv.kto_key)
    if conv.text is not None and not conv.turns:
        text = conv.text
    else:
        dropped.append("roles")
        parts = [conv.system] if conv.system else []
        parts += [content for _, content in conv.turns]
        if conv.is_preference:
            parts.append(conv.chosen or "")
            dropped.append("rejected")
        text = "\n\n".join(parts)
    return _carry({"text": text}, conv, dropped, media=False)


# --- Multimodal single-file: {"text", "image_url", "caption"} / {"audio", "text", "summary"} --------------


def read_multimodal(record: dict[str, Any]) -> Conversation:
    text = record.get("text")
    text = text if isinstance(text, str) else ""
    if record.get("image_url"):
        kind, token, answer_key, source_key = "images", "<image>", "caption", "image_url"
    elif record.get("audio"):
        kind, token, answer_key, source_key = "audios", "<audio>", "summary", "audio"
    else:
        raise FormatError("multimodal record needs 'image_url' (with 'caption') or 'audio' (with 'summary')")
    extra = {k: v for k, v in record.items() if k not in {"text", source_key, answer_key}}
    turns = [("user", token + text), ("assistant", _str_field(record, answer_key, "multimodal"))]
    return Conversation(turns, extra=extra, media={kind: [str(record[source_key])]})


def write_multimodal(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    prompt, answer = _last_exchange(conv, dropped)
    images, audios = conv.media.get("images") or [], conv.media.get("audios") or []
    if len(images) + len(audios) != 1 or conv.media.get("videos"):
        raise FormatError(
            f"multimodal (image_url/audio) holds exactly one image or audio file; this record has "
            f"{len(images)} image(s), {len(audios)} audio(s), {len(conv.media.get('videos') or [])} video(s)"
        )
    if images:
        record: dict[str, Any] = {"text": prompt.replace("<image>", "", 1), "image_url": images[0], "caption": answer}
    else:
        record = {"audio": audios[0], "text": prompt.replace("<audio>", "", 1), "summary": answer}
    return put_extras(record, conv.extra, dropped)
