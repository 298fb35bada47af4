"""A run's stored settings give back the same run: a resumed build splits like the uninterrupted one."""

from ftds.agents.runner import snapshot_of
from ftds.tools.config import Settings, SplitSettings
from ftds.tools.dataset.split import effective_settings


def _resumed(settings: Settings) -> SplitSettings:
    snapshot = {k: v for k, v in snapshot_of(settings).items() if not k.startswith("_")}
    return Settings.model_validate(snapshot).split


def test_a_resumed_small_run_keeps_the_small_set_ratios() -> None:
    # a full dump made every ratio look chosen, so a resumed run of < 1000 samples split 70/15/15, not 80/10/10
    resumed = effective_settings(500, _resumed(Settings()))
    assert (resumed.train, resumed.validation, resumed.test) == (0.8, 0.1, 0.1)


def test_ratios_chosen_by_the_user_survive_the_snapshot() -> None:
    chosen = Settings(split=SplitSettings(train=0.6, validation=0.2, test=0.2, seed=7))
    resumed = effective_settings(500, _resumed(chosen))
    assert (resumed.train, resumed.validation, resumed.test, resumed.seed) == (0.6, 0.2, 0.2, 7)
