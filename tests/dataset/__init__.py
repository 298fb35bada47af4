from pathlib import Path

# Two chapters of the PRC Data Security Law (statutes are outside copyright, Copyright Law Art. 5): a small input
# the fake server turns into a few samples per task, so every build here takes seconds.
STATUTE = (Path(__file__).parent / "statute_excerpt.md").read_text(encoding="utf-8")
