"""The import rules import-linter cannot see (docs/architecture.md, Layers); `make lint` runs this file too.

import-linter (pyproject.toml) keeps the packages' layers and gis/'s purity; here, on the source's syntax:
nothing private crosses a package boundary, and no import hides inside a function to dodge a cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Imports inside functions that are there on purpose, not to dodge a cycle: the composition root builds the
#: app from every package when asked (nothing is built at import time), the CLI loads what a command needs,
#: and an import runner waits for its turn before it loads the GIS stack.
LAZY_BY_DESIGN = {"app/__init__.py", "app/cli.py", "app/imports/runner.py"}


def _sources() -> list[tuple[str, ast.Module]]:
    files = sorted([*ROOT.glob("app/**/*.py"), *ROOT.glob("gis/**/*.py")])
    return [(f.relative_to(ROOT).as_posix(), ast.parse(f.read_text(), f.name)) for f in files]


def _module_of(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def package_of(module: str) -> str:
    """``app.transfers.services`` → ``app.transfers``; ``app.db`` → ``app.db``; ``gis.qa`` → ``gis``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" else parts[0]


def _internal(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in ("app", "gis")


def private_crossings(path: str, tree: ast.Module) -> list[str]:
    """``from app.x.m import _name`` and ``alias._name`` on another package's module, in one file."""
    here = package_of(_module_of(path))
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _internal(node.module):
            for name in node.names:
                target = f"{node.module}.{name.name}"
                if package_of(node.module) != here and name.name.startswith("_") and not name.name.startswith("__"):
                    found.append(f"{path}:{node.lineno} imports {node.module}.{name.name}")
                aliases[name.asname or name.name] = target
        elif isinstance(node, ast.Import):
            for name in node.names:  # `import a.b as z` binds z to a.b; `import a.b` binds a to a
                if _internal(name.name):
                    top = name.name.split(".")[0]
                    aliases[name.asname or top] = name.name if name.asname else top
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")
                and package_of(aliases[node.value.id]) != here):
            found.append(f"{path}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return found


def nested_imports(path: str, tree: ast.Module) -> list[str]:
    """Imports of another package of app/ or gis/ inside a function (one of its own package's modules loaded
    lazily, a PDF renderer say, is no cycle between packages)."""
    here = package_of(_module_of(path))
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            modules = ([node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else
                       [n.name for n in node.names] if isinstance(node, ast.Import) else [])
            others = [m for m in modules if _internal(m) and package_of(m) != here]
            if others:
                found.append(f"{path}:{node.lineno} imports {', '.join(others)} in {fn.name}()")
    return found


def test_nothing_private_crosses_a_package_boundary():
    assert [line for path, tree in _sources() for line in private_crossings(path, tree)] == []


def test_no_import_hides_in_a_function_to_dodge_a_cycle():
    found = [line for path, tree in _sources() if path not in LAZY_BY_DESIGN for line in nested_imports(path, tree)]
    assert found == []


def test_the_checks_see_what_they_look_for():
    crossing = ast.parse("from app.rights.services import _allocated\nfrom app.ledger import services as ledger\n"
                         "def f(s):\n    from app.parcels.queries import ParcelRepository\n"
                         "    from app.transfers.rules import notice_in_time\n    return ledger._head(s)\n")
    assert private_crossings("app/transfers/services.py", crossing) == [
        "app/transfers/services.py:1 imports app.rights.services._allocated",
        "app/transfers/services.py:6 uses app.ledger.services._head"]
    assert private_crossings("app/rights/models.py", ast.parse("from app.rights.services import _allocated")) == []
    assert nested_imports("app/transfers/services.py", crossing) == [
        "app/transfers/services.py:4 imports app.parcels.queries in f()"]


def test_docs_rules_lists_every_rule_code_with_its_status_and_basis():
    from app.errors import RULES

    text = (ROOT / "docs" / "rules.md").read_text()
    rows = {line.split("|")[1].strip(" `"): [c.strip() for c in line.split("|")[2:4]]
            for line in text.split("## Every rule code", 1)[1].splitlines() if line.startswith("| `")}
    assert rows == {code: [str(r.status), r.basis or "—"] for code, r in RULES.items()}
