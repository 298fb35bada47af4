"""Evaluation sets from the same literature as the training data, and running them against a model.

Plain typed functions (no MCP, no LangGraph), in small modules:

- :mod:`.items` — the item records (single / multiple choice, true-false, short answer, open question);
- :mod:`.evidence` and :mod:`.checks` — where an item's answer key sits in its chunk, and the mechanical
  checks (distractors verifiably wrong, true/false balance, difficulty spread);
- :mod:`.generate` — one structured LLM call per item family per chunk, :func:`generate_eval_items`;
- :mod:`.audit` — no leakage: near-duplicate / semantic audit and section holdout against training data;
- :mod:`.export` — EvalScope, OpenCompass, lighteval and plain JSONL exports plus the set's card;
- :mod:`.answer`, :mod:`.score`, :mod:`.stats`, :mod:`.run`, :mod:`.report` — ``ftds-agent eval``.
"""
