"""docs/tutorial.md runs: its ```python blocks, executed in order in one namespace (as a reader pasting them
into one Python session), at tiny sizes (``SQUEEZENP_TUTORIAL_TINY=1``), in a temporary folder. The blocks
assert what the text claims (the hand-written conv equals the library's, the gradients check, the fast and
textbook paths agree), so a change that breaks the page fails here."""
import re
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_tutorial_has_its_sections():
    blocks = code_blocks(TUTORIAL.read_text())
    assert len(blocks) >= 7
    text = "\n".join(blocks)
    for needle in ("check_function_gradients", "check_layer_gradients", "reference_backend", "fit(",
                   "class_activation_maps"):
        assert needle in text, needle


def test_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SQUEEZENP_TUTORIAL_TINY", "1")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "tutorial"}
    for i, block in enumerate(code_blocks(TUTORIAL.read_text())):
        exec(compile(block, f"docs/tutorial.md, python block {i + 1}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "(2, 4, 4, 3)" in out and "(2, 2)" in out and "faster" in out and "validation accuracy" in out
    assert (tmp_path / "tutorial_cam.png").stat().st_size > 1000
