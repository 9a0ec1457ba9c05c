"""The package's layers, read from its source: no import loop between booking's modules, no
blueprint borrowing from another, and pure cores that know nothing of Flask or the database.

Every import counts, at the top of a module or inside a function: a function-level import
still makes one module need another, it only hides the loop until a call runs it. Imports
under `if TYPE_CHECKING:` never run and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import booking

PACKAGE_ROOT = Path(booking.__file__).resolve().parent

BLUEPRINTS = ("admin", "api", "articles", "auth", "clinician", "desk", "feeds", "identity", "intake",
              "manage", "public", "rights")
PURE_CORES = ("booking.scheduling", "booking.measures", "booking.notes", "booking.formatting", "booking.retention_period")
NOT_IN_A_PURE_CORE = ("flask", "flask_", "sqlalchemy", "booking.models", "booking.extensions", "booking.operations")

def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under root by dotted name; a package by its own name (its __init__.py)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _skipping_type_checking(tree: ast.AST):
    """Every node of the tree except what sits under `if TYPE_CHECKING:`."""
    waiting = [tree]
    while waiting:
        node = waiting.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                waiting.extend(child.orelse)
            else:
                waiting.append(child)


def imports_in(path: Path, module: str) -> set[tuple[str, str | None]]:
    """(from, name) for each name this module imports anywhere in it, (module, None) for a plain
    `import module`; relative imports are made absolute."""
    found = set()
    for node in _skipping_type_checking(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from this module's package, one level up for each further dot
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            found.update((base, alias.name) for alias in node.names)
    return found


def import_graph(root: Path = PACKAGE_ROOT, package: str = "booking") -> dict[str, set[str]]:
    """Module -> the package's modules it imports. `from a import b` leads to module a.b when there
    is one, else to a; a module's own parent packages are not counted, as Python loads them for
    every module alike."""
    modules = module_names(root, package)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        targets = set()
        for base, name in imports_in(path, module):
            targets.add(f"{base}.{name}" if f"{base}.{name}" in modules else known(base))
        graph[module] = {t for t in targets if t is not None and t != module and not module.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop as [a, b, ..., a], or None when there is none (depth first, no recursion)."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path, branches = [start], [iter(sorted(graph[start]))]
        while branches:
            following = next(branches[-1], None)
            if following is None:  # every way on from here is known to end
                done.add(path.pop())
                branches.pop()
            elif following in path:
                return path[path.index(following):] + [following]
            elif following not in done:
                path.append(following)
                branches.append(iter(sorted(graph.get(following, ()))))
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    if cycle:
        print("import cycle:", " -> ".join(cycle))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same imports between booking's parts: each subpackage (booking.operations,
    booking.notify...) or top-level module (booking.web) taken as one."""
    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    parts: dict[str, set[str]] = {}
    for module, targets in graph.items():
        parts.setdefault(part(module), set()).update(part(t) for t in targets if part(t) != part(module))
    return parts


def test_no_cycle_between_packages():
    """A loop between two parts is a piece in the wrong layer even when no two modules loop
    (operations -> notify -> web -> operations was one)."""
    cycle = find_cycle(package_graph(import_graph()))
    if cycle:
        print("import cycle between packages:", " -> ".join(cycle))
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle)


def test_no_blueprint_imports_another():
    graph = import_graph()
    crossings = []
    for module, targets in graph.items():
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in BLUEPRINTS:
            continue
        for target in targets:
            target_parts = target.split(".")
            if len(target_parts) > 1 and target_parts[1] in BLUEPRINTS and target_parts[1] != parts[1]:
                crossings.append(f"{module} imports {target}")
    assert crossings == [], "blueprints are rooms, not libraries:\n" + "\n".join(sorted(crossings))


def test_pure_cores_know_nothing_of_flask_or_the_database():
    modules = module_names(PACKAGE_ROOT, "booking")
    found = []
    for module, path in modules.items():
        if not any(module == core or module.startswith(core + ".") for core in PURE_CORES):
            continue
        for base, name in imports_in(path, module):
            name = base if name is None else f"{base}.{name}"
            if any(name == banned or name.startswith(banned if banned.endswith("_") else banned + ".")
                   for banned in NOT_IN_A_PURE_CORE):
                found.append(f"{module} imports {name}")
    assert found == [], "\n".join(sorted(found))


# The checks above pass on the real package; these show they would notice a break.

def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_loop_hidden_in_a_function_is_found(tmp_path):
    _write(tmp_path, {
        "__init__.py": "",
        "web.py": "from demo.operations import load\n",
        "operations/__init__.py": "",
        "operations/load.py": "def load():\n    from demo.notify import send\n    return send\n",
        "notify.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from demo.web import page\n"
                     "def send():\n    from demo.web import page\n",
    })
    graph = import_graph(tmp_path, "demo")
    assert graph["demo.operations.load"] == {"demo.notify"}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"demo.web", "demo.operations.load", "demo.notify"}


def test_a_loop_between_packages_is_found(tmp_path):
    _write(tmp_path, {
        "__init__.py": "",
        "operations/__init__.py": "",
        "operations/bookings.py": "from demo.notify import emails\n",
        "operations/availability.py": "",
        "notify/__init__.py": "",
        "notify/emails.py": "from demo.web import clinic_time\n",
        "web.py": "from demo.operations.availability import load_clinic\n",
    })
    graph = import_graph(tmp_path, "demo")
    assert find_cycle(graph) is None  # no two modules loop...
    cycle = find_cycle(package_graph(graph))  # ...but the packages do
    assert cycle is not None and set(cycle) == {"demo.operations", "demo.notify", "demo.web"}


def test_a_type_checking_import_makes_no_loop(tmp_path):
    _write(tmp_path, {
        "__init__.py": "",
        "instrument.py": "from demo.published import check\n",
        "published.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from demo.instrument import Instrument\n"
                        "def check(instrument): ...\n",
    })
    assert find_cycle(import_graph(tmp_path, "demo")) is None


def test_relative_imports_are_resolved(tmp_path):
    _write(tmp_path, {
        "__init__.py": "",
        "desk/__init__.py": "",
        "desk/routes.py": "from ..public import forms\nfrom . import helpers\n",
        "desk/helpers.py": "",
        "public/__init__.py": "",
        "public/forms.py": "",
    })
    assert import_graph(tmp_path, "demo")["demo.desk.routes"] == {"demo.public.forms", "demo.desk.helpers"}
