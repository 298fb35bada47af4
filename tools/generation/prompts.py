"""Load prompt templates and domain presets shipped in ``ftds.prompts``, or from a user directory.

Templates are Markdown with YAML front matter (name, language, version) and ``=== system ===`` /
``=== user ===`` sections. Placeholders use ``$name`` (string.Template) so JSON examples in a prompt need no
escaping. The version string is recorded on every sample the template produces.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ftds.tools.llm.base import Message

_SECTION = re.compile(r"^=== (system|user) ===\s*$", re.MULTILINE)


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    language: str
    version: str
    system: str
    user: str
    min_probability: float | None = None
    """For a yes/no scoring prompt: the P(yes) a reply needs, measured for this prompt (its front matter)."""
    min_probability_unconfirmed: float | None = None
    """For a yes/no scoring prompt: the P(yes) that keeps a sample the round trip did not confirm (None: the
    round trip's verdict stands)."""

    def render(self, **values: Any) -> list[Message]:
        try:
            return [
                {"role": "system", "content": string.Template(self.system).substitute(values).strip()},
                {"role": "user", "content": string.Template(self.user).substitute(values).strip()},
            ]
        except KeyError as exc:
            raise PromptError(f"prompt {self.version} needs a value for ${exc.args[0]}") from None


def parse_template(text: str, origin: str) -> PromptTemplate:
    if not text.startswith("---"):
        raise PromptError(f"{origin}: a prompt file starts with YAML front matter between '---' lines")
    _, front, body = text.split("---", 2)
    import yaml  # lazily: not needed to start the MCP server

    meta = yaml.safe_load(front) or {}
    parts = _SECTION.split(body)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    missing = {"name", "language", "version"} - meta.keys()
    if missing or "user" not in sections:
        raise PromptError(f"{origin}: needs front matter keys name/language/version and a '=== user ===' part")
    return PromptTemplate(
        name=str(meta["name"]),
        language=str(meta["language"]),
        version=str(meta["version"]),
        system=sections.get("system", "").strip(),
        user=sections["user"].strip(),
        min_probability=float(meta["min_probability"]) if "min_probability" in meta else None,
        min_probability_unconfirmed=(
            float(meta["min_probability_unconfirmed"]) if "min_probability_unconfirmed" in meta else None
        ),
    )


def _read(filename: str, user_dir: Path | None) -> tuple[str, str]:
    if user_dir is not None and (user_dir / filename).is_file():
        path = user_dir / filename
        return path.read_text(encoding="utf-8"), str(path)
    resource = resources.files("ftds.prompts") / filename
    if not resource.is_file():
        raise PromptError(f"no prompt template {filename} (looked in {user_dir or 'the packaged prompts'})")
    return resource.read_text(encoding="utf-8"), f"ftds.prompts/{filename}"


@lru_cache(maxsize=64)
def load_template(name: str, language: str, user_dir: Path | None = None) -> PromptTemplate:
    """Template ``name`` in ``language`` ('zh' or 'en'), a user directory's copy winning over ours."""
    text, origin = _read(f"{name}.{language}.md", user_dir)
    return parse_template(text, origin)


@lru_cache(maxsize=8)
def load_domains(user_dir: Path | None = None) -> dict[str, Any]:
    text, origin = _read("domains.yaml", user_dir)
    import yaml  # lazily: not needed to start the MCP server

    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise PromptError(f"{origin}: expected a mapping of domain presets")
    return data


@dataclass(frozen=True)
class DomainPreset:
    key: str
    name: str
    generate_guidance: str
    review_guidance: str


def domain_preset(domain: str, language: str, user_dir: Path | None = None) -> DomainPreset:
    """The preset for ``domain``; an unknown domain is used by name with no extra guidance."""
    entry = load_domains(user_dir).get(domain)
    if entry is None:
        return DomainPreset(domain, domain, "", "")
    return DomainPreset(
        key=domain,
        name=entry["name"].get(language, domain),
        generate_guidance=(entry.get("generate") or {}).get(language, ""),
        review_guidance=(entry.get("review") or {}).get(language, ""),
    )
