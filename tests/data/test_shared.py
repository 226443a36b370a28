"""shared_dir(): $SQUEEZENP_SHARED first, then <repo>/../shared, else None."""
from squeezenp.data import shared


def test_env_var_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(shared.ENV_VAR, str(tmp_path))
    assert shared.shared_dir() == tmp_path


def test_env_var_to_missing_folder_gives_none(tmp_path, monkeypatch):
    monkeypatch.setenv(shared.ENV_VAR, str(tmp_path / "nope"))
    assert shared.shared_dir() is None
    assert shared.covid_ct_dir() is None


def test_default_is_beside_the_repo(monkeypatch):
    monkeypatch.delenv(shared.ENV_VAR, raising=False)
    beside = shared._REPO.parent / "shared"
    assert shared.shared_dir() == (beside if beside.is_dir() else None)
