"""The dependency direction of docs/architecture.md, checked on the imports themselves.

Every `import` and `from ... import` of supportd's modules is read with ast (those
inside functions and under TYPE_CHECKING too), and each part of the package may import
only the parts listed for it below. Parts not listed (the front doors `http` and `cli`,
and any new one) are not restricted, except that the front doors do not import each
other's code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import supportd

PACKAGE = Path(supportd.__file__).resolve().parent

# part -> the parts it may import besides itself (and `supportd.__version__`). A part is a
# subpackage of supportd or one of its top-level modules.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "reference": set(),
    "api_errors": set(),
    "logs": set(),
    "config": {"domain"},
    "storage": {"domain"},
    "security": {"domain", "api_errors"},
    "runtime": {"config", "domain", "security", "storage"},
    # notifications: the delivery channels (SMTP, webhooks, EventBridge), I/O adapters like
    # storage, which `webhooks test` and the delivery jobs drive.
    "operations": {
        "domain",
        "storage",
        "notifications",
        "reference",
        "security",
        "config",
        "api_errors",
        "runtime",
    },
    "worker": {"domain", "operations"},
    # The testing kit drives a server from outside: it starts `supportd serve` and uses
    # the operations for what the API cannot do; never the front doors' code.
    "testing": {
        "config",
        "domain",
        "operations",
        "reference",
        "runtime",
        "security",
        "storage",
    },
}

FRONT_DOORS = ("http", "cli")


def part_of(module: str) -> str:
    """`supportd.storage.sql` -> `storage`; `supportd.config` -> `config`."""
    names = module.split(".")
    return names[1] if len(names) > 1 else names[0]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    names = list(relative.parts)
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


def imported(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) for every module that the source of `module` imports."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name == "supportd":
                # `from supportd import config`: the module named; __version__: the package.
                for alias in node.names:
                    dunder = alias.name.startswith("__")
                    yield node.lineno, "supportd" if dunder else f"supportd.{alias.name}"
            else:
                yield node.lineno, name


def allowed(part: str, target: str) -> bool:
    if target in (part, "supportd"):
        return True
    if part in ALLOWED:
        return target in ALLOWED[part]
    return not (part in FRONT_DOORS and target in FRONT_DOORS)


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        this = module_name(path)
        source = path.read_text(encoding="utf-8")
        for line, module in imported(source, this, path.name == "__init__.py"):
            if module.split(".")[0] != "supportd":
                continue
            if not allowed(part_of(this), part_of(module)):
                where = path.relative_to(PACKAGE.parent)
                found.append(f"{where}:{line}: {part_of(this)} imports {module}")
    return found


def test_imports_point_one_way() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("module", "source", "target", "ok"),
    [
        ("supportd.domain.x", "from supportd.storage.base import Store", "storage", False),
        ("supportd.domain.x", "from ..storage import base", "storage", False),
        ("supportd.domain.x", "from . import sla", "domain", True),
        ("supportd.storage.x", "from supportd import config", "config", False),
        ("supportd.storage.x", "from supportd.domain import sla", "domain", True),
        ("supportd.operations.x", "from supportd.http import app", "http", False),
        ("supportd.operations.x", "import supportd.cli", "cli", False),
        ("supportd.operations.x", "from supportd.security import secretbox", "security", True),
        ("supportd.security.x", "from supportd.operations import access", "operations", False),
        ("supportd.security.x", "from supportd.storage import base", "storage", False),
        ("supportd.http.x", "from supportd.cli import settings", "cli", False),
        ("supportd.cli.x", "from supportd.operations import staff", "operations", True),
        ("supportd.testing.x", "from supportd.cli import main", "cli", False),
        ("supportd.testing.x", "from supportd.http import app", "http", False),
        ("supportd.testing.x", "from supportd.operations import staff", "operations", True),
    ],
)
def test_the_check_reads_and_decides(module: str, source: str, target: str, ok: bool) -> None:
    # Inside a function too: lazy imports count.
    found = list(imported(f"def f():\n    {source}\n", module))
    assert [part_of(name) for _, name in found] == [target]
    assert allowed(part_of(module), target) is ok
