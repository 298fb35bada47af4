from pathlib import Path

import pytest

from ftds.tools.config import SplitSettings, load_settings


def test_defaults_apply_when_nothing_is_configured() -> None:
    settings = load_settings()
    assert settings.llm.backend == "embedded"
    assert settings.llm.model == "qwen2.5-coder-1.5b"
    assert settings.reviewer_llm is settings.llm


def test_flags_beat_env_beat_file_beat_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "ftds.toml"
    config.write_text('[llm]\nmodel = "from-file"\ntemperature = 0.9\nmax_tokens = 111\n', encoding="utf-8")
    monkeypatch.setenv("FTDS_LLM__TEMPERATURE", "0.5")
    monkeypatch.setenv("FTDS_LLM__MAX_TOKENS", "222")
    settings = load_settings(config, llm={"max_tokens": 333})
    assert settings.llm.model == "from-file"  # file beats default
    assert settings.llm.temperature == 0.5  # env beats file
    assert settings.llm.max_tokens == 333  # flag beats env
    assert settings.llm.concurrency == 4  # default where nobody said anything


def test_config_file_in_working_directory_is_found(tmp_path: Path) -> None:
    (tmp_path / "ftds.toml").write_text('[build]\ndomain = "medicine"\n', encoding="utf-8")
    assert load_settings().build.domain == "medicine"


def test_missing_explicit_config_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        load_settings(tmp_path / "nope.toml")


def test_split_ratios_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        SplitSettings(train=0.5, validation=0.2, test=0.2)


def test_unknown_setting_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "ftds.toml"
    config.write_text("[llm]\nmodle = 'typo'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="modle"):
        load_settings(config)
