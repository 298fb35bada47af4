"""FAKE replies for the evaluation prompts, used by the fake OpenAI-compatible server (tests only).

Generation prompts (choice_items, statements, short_items, open_items) are answered the way a cooperative
model would: keys and evidence quoted from the source sentences, distractors and false statements made by
negating or reversing a sentence (one per choice item is a near-copy of the source, which the distractor
check must drop). The judge prompt (criteria) marks a rubric point met when the graded answer shares most of
its character bigrams. Exam questions (the eval_answer prompt) get a free-text answer chosen by a hash of the
question and the server's seed, in a rotating answer format, so scoring sees every format it must read.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

EVAL_KEYS = ("choice_items", "statements", "short_items", "open_items", "criteria")
_ZH = re.compile(r"[\u4e00-\u9fff]")
LEVELS = ("easy", "medium", "hard")


def _zh(text: str) -> bool:
    return bool(_ZH.search(text[:300]))


def _negate(sentence: str, zh: bool) -> str:
    return f"并非{sentence}" if zh else f"It is not the case that {sentence[0].lower()}{sentence[1:]}"


def _reverse(sentence: str) -> str:
    return sentence[::-1]


def _count(prompt: str, patterns: list[str], default: int = 2) -> list[int]:
    for pattern in patterns:
        match = re.search(pattern, prompt)
        if match:
            return [int(g) for g in match.groups()]
    return [default]


def fake_eval_reply(key: str, prompt: str, sentences: list[str]) -> dict[str, Any]:
    zh = _zh(prompt)
    n = len(sentences)
    if key == "choice_items":
        patterns = [r"(\d+) 道单选题和 (\d+) 道多选题", r"Write (\d+) single-answer and (\d+) multiple"]
        single, multi = _count(prompt, patterns)
        items = []
        for i in range(single):
            s = sentences[i % n]
            near_copy = f"除外：{s}" if zh else f"Except: {s}"
            options = [_negate(s, zh), _reverse(s), near_copy]
            at = i % 4
            options.insert(at, s)
            question = f"Which is right: '{s[:16]}'? ({i + 1})"
            if zh:
                question = f"下列关于“{s[:10]}”的说法，哪一项正确？（第{i + 1}题）"
            items.append(
                {
                    "question": question,
                    "options": options,
                    "answers": ["ABCD"[at]],
                    "difficulty": LEVELS[i % 3],
                    "evidence": s,
                }
            )
        for i in range(multi):
            first, second = sentences[i % n], sentences[(i + 1) % n]
            options = [first, _negate(first, zh), second, _negate(second, zh)]
            question = f"下列哪些说法正确？（多选第{i + 1}题）" if zh else f"Which are right? (multi {i + 1})"
            items.append(
                {
                    "question": question,
                    "options": options,
                    "answers": ["A", "C"],
                    "difficulty": LEVELS[(i + 1) % 3],
                    "evidence": first + second,
                }
            )
        return {"choice_items": items}
    if key == "statements":
        (count,) = _count(prompt, [r"编写 (\d+) 道判断题", r"Write (\d+) true/false"])
        statements = []
        for i in range(count):
            s = sentences[i % n]
            truth = i % 2 == 0
            statements.append(
                {
                    "statement": s if truth else _negate(s, zh),
                    "answer": truth,
                    "difficulty": LEVELS[i % 3],
                    "evidence": s,
                }
            )
        return {"statements": statements}
    if key == "short_items":
        (count,) = _count(prompt, [r"编写 (\d+) 道简答题", r"Write (\d+) short-answer"])
        items = []
        for i in range(count):
            s = sentences[i % n]
            if zh:
                answer, question = s[:4], f"“……{s[6:16]}”这句话开头的四个字是什么？（第{i + 1}题）"
            else:
                answer = s.split()[0]
                question = f"Which word opens the sentence ending '{' '.join(s.split()[-4:])}'? ({i + 1})"
            items.append(
                {
                    "question": question,
                    "answer": answer,
                    "accepted": [answer.upper()] if not zh else [],
                    "difficulty": LEVELS[i % 3],
                    "evidence": s,
                }
            )
        return {"short_items": items}
    if key == "open_items":
        (count,) = _count(prompt, [r"编写 (\d+) 道开放式问答题", r"Write (\d+) open questions"])
        items = []
        for i in range(count):
            s = sentences[i % n]
            half = len(s) // 2
            question = f"请说明“{s[:12]}”的含义与要求。（第{i + 1}题）" if zh else f"Explain '{s[:20]}'. ({i + 1})"
            items.append(
                {
                    "question": question,
                    "reference_answer": s,
                    "rubric": [s[:half], s[half:]],
                    "difficulty": LEVELS[(i + 2) % 3],
                    "evidence": s,
                }
            )
        return {"open_items": items}
    # the judge: a rubric point is met when the graded answer holds most of its bigrams
    rubric = re.findall(r"^(\d+)\. (.+)$", prompt.split('"""')[0], re.MULTILINE)
    body = prompt.split('"""')
    answer = body[1] if len(body) > 2 else ""
    criteria = []
    for number, point in rubric:
        grams = {point[i : i + 2] for i in range(len(point) - 1)}
        share = len({g for g in grams if g in answer}) / max(1, len(grams))
        criteria.append({"index": int(number), "met": share >= 0.5, "reason": f"fake judge: {share:.0%} shared"})
    return {"criteria": criteria}


def is_exam_question(prompt: str) -> bool:
    """The eval_answer prompt, recognised by its system line."""
    return "正在回答一道考题" in prompt or "answering an exam question" in prompt


def fake_exam_answer(prompt: str, seed: int) -> str:
    """A free-text answer to an exam question, picked by a hash of the question and ``seed``."""
    digest = int(hashlib.sha256(f"{seed}:{prompt}".encode()).hexdigest(), 16)
    zh = _zh(prompt)
    options = re.findall(r"^([A-J])\. (.+)$", prompt, re.MULTILINE)
    style = digest % 4
    if "多选题" in prompt or "multiple-answer" in prompt:
        letters = "".join(sorted({options[digest % len(options)][0], options[(digest >> 3) % len(options)][0]}))
        return f"分析如下。\n答案：{letters}" if zh else f"Reasoning.\nAnswer: {letters}"
    if options:
        letter, text = options[(digest >> 5) % len(options)]
        return (
            [f"答案：{letter}", f"({letter})", letter, f"我认为是：{text}"][style]
            if zh
            else [
                f"Answer: {letter}",
                f"({letter})",
                letter,
                f"The right option is: {text}",
            ][style]
        )
    if "答案：正确" in prompt or "Answer: True" in prompt:
        truth = digest % 2 == 0
        if zh:
            return f"这个说法{'正确' if truth else '错误'}。\n答案：{'正确' if truth else '错误'}"
        return f"Answer: {'True' if truth else 'False'}"
    if "很短的短语" in prompt or "very short phrase" in prompt:
        question = prompt.split("\n\n")[-2] if "\n\n" in prompt else prompt
        quoted = re.search(r"“……(.{2,})”", question)
        guess = quoted.group(1)[:4] if quoted and digest % 2 else "不知道"
        return f"答案：{guess}" if zh else f"Answer: {guess}"
    return "这个问题涉及资料中的有关规定，需要依法处理。" if zh else "It depends on the rules that apply."
