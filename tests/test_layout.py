"""The package's layout is its architecture: every folder of ``squeezenp`` imports only from the folders below it
in ``LAYERS`` (the order of the README's map), so there are no import cycles between them, and no module is
left loose at the package root."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "squeezenp"
LAYERS = ["core", "functional", "ops", "layers", "data", "models", "train", "reports", "evaluation", "interop",
          "app", "search", "reproduce", "commands"]


def imported_folders(path: Path) -> set[str]:
    """The ``squeezenp`` folders a module imports (relative ``..x`` or absolute ``squeezenp.x``), lazy ones too."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 2:
                found.update([mod.split(".")[0]] if mod else [a.name for a in node.names])
            elif node.level == 0 and mod.startswith("squeezenp."):
                found.add(mod.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("squeezenp."))
    return found & set(LAYERS)


def test_every_folder_imports_only_from_the_folders_below_it():
    upward = []
    for rank, folder in enumerate(LAYERS):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for target in imported_folders(path):
                if LAYERS.index(target) > rank:
                    upward.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert upward == []


def test_no_module_is_loose_at_the_root_and_every_folder_is_placed():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py"]
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(LAYERS)
