"""The three chat formats trainers load: Alpaca, ShareGPT and OpenAI messages (LLaMA-Factory's rules).

Each can hold system prompts, tools, media lists, preference pairs and KTO tags; only Alpaca cannot hold
function-call/observation turns, which is reported instead of flattened.
"""

from __future__ import annotations

import json
from typing import Any

from ftds.tools.formats.model import MEDIA_KINDS, Conversation, FormatError

_COMMON = frozenset({"system", "tools", "kto_tag", "chosen", "rejected", *MEDIA_KINDS})
_MEDIA_KEYS = frozenset(MEDIA_KINDS)


def _media_of(record: dict[str, Any]) -> dict[str, list[str]]:
    media: dict[str, list[str]] = {}
    for kind in MEDIA_KINDS:
        value = record.get(kind)
        if value:
            media[kind] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return media


def _kto_of(record: dict[str, Any]) -> bool | None:
    value = record.get("kto_tag")
    if value is None or isinstance(value, bool):
        return value
    raise FormatError(f"kto_tag must be true or false, got {value!r}")


def _kto_label(record: dict[str, Any], conv: Conversation) -> Conversation:
    """A boolean ``label`` on a chat record is its KTO tag: LLaMA-Factory's own kto_en_demo is ``messages`` plus
    ``label: true/false`` (registered with ``"kto_tag": "label"``). Read it as the tag, remembering its name."""
    label = record.get("label")
    if conv.kto_tag is None and "kto_tag" not in record and isinstance(label, bool):
        conv.kto_tag, conv.kto_key = label, "label"
        conv.extra.pop("label", None)
    return conv


def put_extras(record: dict[str, Any], extra: dict[str, Any], dropped: list[str]) -> dict[str, Any]:
    """Copy columns no rule knows about; one whose name the format already uses is listed in ``dropped``."""
    for key, value in extra.items():
        if key not in record:
            record[key] = value
        elif record[key] != value:
            dropped.append(key)
    return record


def _tools_of(record: dict[str, Any]) -> str:
    tools = record.get("tools")
    if not tools or tools == "[]":  # an empty tool list is no tools, for every trainer
        return ""
    return tools if isinstance(tools, str) else json.dumps(tools, ensure_ascii=False)


def _put_common(record: dict[str, Any], conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    if conv.system:
        record["system"] = conv.system
    if conv.tools:
        record["tools"] = conv.tools
    return _put_media_and_extras(record, conv, dropped)


def _put_media_and_extras(record: dict[str, Any], conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    """Media files, the KTO tag (as ``kto_tag``, the column exporters register) and unknown columns, the same
    in every chat format (known keys win; a clashing extra column is listed in ``dropped``)."""
    for kind, files in conv.media.items():
        if files:
            record[kind] = list(files)
    if conv.kto_tag is not None:
        record["kto_tag"] = conv.kto_tag
    return put_extras(record, conv.extra, dropped)


def _need_turns(conv: Conversation, fmt: str) -> None:
    if not conv.turns:
        raise FormatError(f"a pretraining text has no turns; {fmt} needs a conversation (convert to 'pretrain')")


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    raise FormatError(f"{what} must be a string, got {type(value).__name__}")


# --- Alpaca --------------------------------------------------------------------------------------------

_ALPACA_KEYS = frozenset({"instruction", "input", "output", "history"}) | _COMMON


def read_alpaca(record: dict[str, Any]) -> Conversation:
    instruction, query = record.get("instruction"), record.get("input")
    if instruction is None and query is None:
        raise FormatError("alpaca record needs 'instruction' (and 'output', or 'chosen'/'rejected')")
    preference = "chosen" in record or "rejected" in record
    if not preference and "output" not in record:
        raise FormatError("alpaca record needs 'output' (or 'chosen' and 'rejected' for preference data)")
    turns: list[tuple[str, str]] = []
    history = record.get("history")
    if history:
        if not isinstance(history, list):
            raise FormatError("alpaca 'history' must be a list of [question, answer] pairs")
        for pair in history:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise FormatError("alpaca 'history' must be a list of [question, answer] pairs")
            turns += [("user", _text(pair[0], "history question")), ("assistant", _text(pair[1], "history answer"))]
    if type(instruction) is not str:
        instruction = _text(instruction, "instruction")
    if query and type(query) is not str:
        query = _text(query, "input")
    turns.append(("user", f"{instruction}\n{query}" if instruction and query else instruction or query or ""))
    extra = {k: v for k, v in record.items() if k not in _ALPACA_KEYS}
    system = record.get("system")
    conv = Conversation(
        turns,
        system=system if type(system) is str else _text(system, "system"),
        extra=extra,
        tools=_tools_of(record) if "tools" in record else "",
        media=_media_of(record) if _MEDIA_KEYS & record.keys() else {},
        kto_tag=_kto_of(record) if "kto_tag" in record else None,
    )
    if "label" in extra:
        _kto_label(record, conv)
    if preference:
        conv.chosen = _text(record.get("chosen"), "chosen")
        conv.rejected = _text(record.get("rejected"), "rejected")
    else:
        output = record["output"]
        conv.turns.append(("assistant", output if type(output) is str else _text(output, "output")))
    return conv


def write_alpaca(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    _need_turns(conv, "alpaca")
    if conv.has_tool_turns:
        raise FormatError("alpaca cannot hold function_call/observation turns; convert to sharegpt or openai")
    turns = conv.turns
    if conv.is_preference:
        *earlier, (_, last_prompt) = turns
        record: dict[str, Any] = {"instruction": last_prompt, "input": "", "chosen": conv.chosen}
        record["rejected"] = conv.rejected
    else:
        *earlier, (_, last_prompt), (_, answer) = turns
        record = {"instruction": last_prompt, "input": "", "output": answer}
    if earlier:
        record["history"] = [[earlier[i][1], earlier[i + 1][1]] for i in range(0, len(earlier), 2)]
    return _put_common(record, conv, dropped)


# --- ShareGPT ------------------------------------------------------------------------------------------

SHAREGPT_TAGS = {"user": "human", "assistant": "gpt", "function_call": "function_call", "observation": "observation"}
_SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "function_call": "function_call", "observation": "observation"}
# OpenAI-tagged ShareGPT (LLaMA-Factory's mllm/kto demos) uses user/assistant: accepted on read.
_SHAREGPT_ROLES.update({"user": "user", "assistant": "assistant"})


def _message_list(messages: Any, role_key: str, content_key: str, roles: dict[str, str]) -> tuple[list, str]:
    if not isinstance(messages, list):
        raise FormatError(f"'{'conversations' if role_key == 'from' else 'messages'}' must be a list of messages")
    system = ""
    turns: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FormatError(f"message {index + 1} is a {type(message).__name__}, expected an object")
        role = message.get(role_key)
        if role == "system" and index == 0:
            system = _text(message.get(content_key), "system message")
            continue
        if role not in roles:
            raise FormatError(
                f"message {index + 1} has role {role!r}; expected one of {', '.join(sorted(set(roles)))} "
                "(LLaMA-Factory: Invalid role tag)"
            )
        turns.append((roles[role], _text(message.get(content_key), f"message {index + 1} content")))
    return turns, system


def _pref_answer(value: Any, role_key: str, content_key: str, name: str) -> str:
    if isinstance(value, dict):
        if value.get(role_key) not in ("gpt", "assistant", "function_call"):
            raise FormatError(f"'{name}' must be a model message, got role {value.get(role_key)!r}")
        return _text(value.get(content_key), name)
    return _text(value, name)


def read_sharegpt(record: dict[str, Any]) -> Conversation:
    if "conversations" not in record:
        raise FormatError("sharegpt record needs 'conversations'")
    turns, system = _message_list(record["conversations"], "from", "value", _SHAREGPT_ROLES)
    return _message_conversation(
        record,
        turns,
        system or _text(record.get("system"), "system"),
        {k: v for k, v in record.items() if k not in _COMMON and k != "conversations"},
        _tools_of(record),
        ("from", "value"),
    )


def _message_conversation(
    record: dict[str, Any],
    turns: list[tuple[str, str]],
    system: str,
    extra: dict[str, Any],
    tools: str,
    keys: tuple[str, str],
) -> Conversation:
    """The conversation of a message-list record (ShareGPT or OpenAI); ``keys`` are its role and content keys."""
    conv = Conversation(
        turns, system=system, extra=extra, tools=tools, media=_media_of(record), kto_tag=_kto_of(record)
    )
    _kto_label(record, conv)
    if "chosen" in record or "rejected" in record:
        conv.chosen = _pref_answer(record.get("chosen"), *keys, "chosen")
        conv.rejected = _pref_answer(record.get("rejected"), *keys, "rejected")
    return conv


def write_sharegpt(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    _need_turns(conv, "sharegpt")
    record: dict[str, Any] = {"conversations": [{"from": SHAREGPT_TAGS[r], "value": c} for r, c in conv.turns]}
    if conv.is_preference:
        record["chosen"] = {"from": "gpt", "value": conv.chosen}
        record["rejected"] = {"from": "gpt", "value": conv.rejected}
    return _put_common(record, conv, dropped)


# --- OpenAI messages -----------------------------------------------------------------------------------

_OPENAI_ROLES = {"user": "user", "assistant": "assistant", "tool": "observation", "function": "observation"}
_OPENAI_KEYS = _COMMON | {"messages"}


def _calls_to_content(tool_calls: Any) -> str:
    """OpenAI tool_calls -> LLaMA-Factory function_call content: {"name", "arguments": {...}} (a list if several)."""
    calls = []
    for call in tool_calls:
        function = call.get("function", {}) if isinstance(call, dict) else {}
        arguments = function.get("arguments", "{}")
        try:
            parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
        except json.JSONDecodeError as exc:
            raise FormatError(f"tool call arguments are not JSON: {exc}") from None
        calls.append({"name": function.get("name", ""), "arguments": parsed})
    return json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)


def _content_to_calls(content: str, turn: int) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError:
        raise FormatError(
            f"turn {turn} is a function_call whose content is not JSON; OpenAI tool_calls need a name and arguments"
        ) from None
    calls = parsed if isinstance(parsed, list) else [parsed]
    result = []
    for index, call in enumerate(calls):
        if not isinstance(call, dict) or "name" not in call:
            raise FormatError(f"turn {turn}: a function call needs a 'name'")
        result.append(
            {
                "id": f"call_{turn}_{index}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": json.dumps(call.get("arguments", {}), ensure_ascii=False),
                },
            }
        )
    return result


def read_openai(record: dict[str, Any]) -> Conversation:
    if "messages" not in record:
        raise FormatError("openai record needs 'messages'")
    messages = record["messages"]
    if not isinstance(messages, list):
        raise FormatError("'messages' must be a list of messages")
    system = ""
    turns: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FormatError(f"message {index + 1} is a {type(message).__name__}, expected an object")
        role = message.get("role")
        if role == "system" and index == 0:
            system = _text(message.get("content"), "system message")
            continue
        if role == "assistant" and message.get("tool_calls"):
            turns.append(("function_call", _calls_to_content(message["tool_calls"])))
            continue
        if role not in _OPENAI_ROLES:
            raise FormatError(
                f"message {index + 1} has role {role!r}; expected system (first only), user, assistant or tool "
                "(LLaMA-Factory: Invalid role tag)"
            )
        content = _text(message.get("content"), f"message {index + 1} content")
        if _OPENAI_ROLES[role] == "observation" and turns and turns[-1][0] == "observation":
            # consecutive tool results are one observation turn, joined as LLaMA-Factory does
            turns[-1] = ("observation", turns[-1][1] + "\n</tool_response>\n<tool_response>\n" + content)
            continue
        turns.append((_OPENAI_ROLES[role], content))
    tools = record.get("tools")
    if isinstance(tools, list):  # OpenAI fine-tuning form [{"type": "function", "function": {...}}]
        tools = [t.get("function", t) if isinstance(t, dict) else t for t in tools]
    return _message_conversation(
        record,
        turns,
        system or _text(record.get("system"), "system"),
        {k: v for k, v in record.items() if k not in _OPENAI_KEYS},
        _tools_of({"tools": tools}),
        ("role", "content"),
    )


def write_openai(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    _need_turns(conv, "openai")
    messages: list[dict[str, Any]] = [{"role": "system", "content": conv.system}] if conv.system else []
    last_call_ids: list[str] = []
    for index, (role, content) in enumerate(conv.turns, start=1):
        if role == "function_call":
            calls = _content_to_calls(content, index)
            last_call_ids = [c["id"] for c in calls]
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        elif role == "observation":
            message = {"role": "tool", "content": content}
            if last_call_ids:
                message["tool_call_id"] = last_call_ids[0]
            messages.append(message)
        else:
            messages.append({"role": role, "content": content})
    record: dict[str, Any] = {"messages": messages}
    if conv.tools:
        try:
            definitions = json.loads(conv.tools)
        except json.JSONDecodeError:
            raise FormatError("'tools' is not valid JSON; OpenAI needs a list of function definitions") from None
        record["tools"] = [{"type": "function", "function": d} for d in definitions]
    if conv.is_preference:
        record["chosen"] = {"role": "assistant", "content": conv.chosen}
        record["rejected"] = {"role": "assistant", "content": conv.rejected}
    return _put_media_and_extras(record, conv, dropped)


# --- Dialogue (the seed's task shape): {"dialogue": [{"role": "user"|"assistant", "content"}, ...]} ------------

_DIALOGUE_ROLES = {"user": "user", "assistant": "assistant"}


def read_dialogue(record: dict[str, Any]) -> Conversation:
    if "dialogue" not in record:
        raise FormatError("dialogue record needs 'dialogue' (a list of {role, content} turns)")
    turns, system = _message_list(record["dialogue"], "role", "content", _DIALOGUE_ROLES)
    extra = {k: v for k, v in record.items() if k not in _COMMON and k != "dialogue"}
    return Conversation(turns, system=system, extra=extra)


def write_dialogue(conv: Conversation, dropped: list[str]) -> dict[str, Any]:
    _need_turns(conv, "dialogue")
    if conv.has_tool_turns:
        raise FormatError("dialogue holds user and assistant turns only; convert tool calls to sharegpt or openai")
    if conv.is_preference:
        raise FormatError("a preference record has no single answer; convert it to trl, alpaca or sharegpt")
    turns = [{"role": "system", "content": conv.system}] if conv.system else []
    turns += [{"role": role, "content": content} for role, content in conv.turns]
    if conv.tools:
        dropped.append("tools")
    if conv.kto_tag is not None:
        dropped.append(conv.kto_key)
    dropped.extend(kind for kind, files in conv.media.items() if files)
    return put_extras({"dialogue": turns}, conv.extra, dropped)
