"""How the command line reports errors: expected ones in one line, bugs as "internal error" with the traceback
behind ``--debug`` / ``SQUEEZENP_DEBUG=1``, warnings in one line each."""
import warnings

import pytest

from squeezenp.app import cli
from squeezenp.commands import summary


def _bug(args):
    return {}["missing-key"]          # a real bug: KeyError from squeezenp's own code


def _expected(args):
    raise ValueError("input 'x.png' does not exist\nsecond line never shown")


def run(monkeypatch, capsys, func, argv, env=None):
    monkeypatch.setattr(summary, "run", func)
    if env is not None:
        monkeypatch.setenv(cli.DEBUG_ENV, env)
    else:
        monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    code = cli.main(argv)
    return code, capsys.readouterr().err


def test_a_bug_is_one_line_that_says_internal_error_and_how_to_see_more(monkeypatch, capsys):
    code, err = run(monkeypatch, capsys, _bug, ["summary", "proposed"])
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1
    assert "internal error" in lines[0] and "KeyError" in lines[0] and "--debug" in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("argv,env", [(["--debug", "summary", "proposed"], None),
                                      (["summary", "proposed", "--debug"], None),
                                      (["summary", "proposed"], "1")])
def test_debug_flag_or_environment_shows_the_traceback(monkeypatch, capsys, argv, env):
    code, err = run(monkeypatch, capsys, _bug, argv, env)
    assert code == 1 and "Traceback (most recent call last)" in err and "_bug" in err
    assert err.strip().splitlines()[-1].startswith("squeezenp summary: internal error")


def test_expected_errors_stay_one_line_without_the_bug_hint(monkeypatch, capsys):
    code, err = run(monkeypatch, capsys, _expected, ["summary", "proposed"])
    assert code == 1 and err.strip() == "squeezenp summary: error: input 'x.png' does not exist"
    code, err = run(monkeypatch, capsys, _expected, ["summary", "proposed"], env="0")   # 0 means off
    assert "Traceback" not in err


def test_errors_the_user_can_fix_are_not_reported_as_bugs(monkeypatch, capsys):
    from squeezenp.core.errors import CommandError

    def no_workers(args):
        raise CommandError("Dask scheduler tcp://127.0.0.1:1 has no workers")

    def disk_full(args):
        raise OSError(28, "No space left on device", "runs/x/model.npz")
    for func in (no_workers, disk_full):
        code, err = run(monkeypatch, capsys, func, ["summary", "proposed"])
        assert code == 1 and len(err.strip().splitlines()) == 1 and "internal error" not in err
    assert "runs/x/model.npz" in err


def test_warnings_are_printed_as_one_line(monkeypatch, capsys):
    def warns(args):
        warnings.warn("first line\nsecond line", UserWarning)
        return 0
    code, err = run(monkeypatch, capsys, warns, ["summary", "proposed"])
    assert code == 0 and err.strip() == "squeezenp summary: warning: first line second line"
