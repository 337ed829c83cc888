"""The package layout's import rules, read from the source with `ast` (nothing is imported):
one direction (training -> assistant -> retrieval), no cycles, and project modules imported at module top.

Run: python -m pytest -q tests/test_layout.py
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "training", "retrieval", "bench")
# May import: a package may import itself and the packages listed for it, nothing else of the project.
ALLOWED = {
    "retrieval": {"retrieval"},
    "assistant": {"assistant", "retrieval"},
    "training": {"training", "assistant", "retrieval"},
    "bench": set(PACKAGES),  # benchmarks that train nothing sit on top; training routes to them by name only
}
# In-function imports of project modules that are meant: (importing module, imported module) -> why.
LAZY_OK = {
    ("assistant", "assistant.orchestrator"): "`import assistant` stays light; names resolve on first use",
}
HEAVY = {"training.objectives"}  # import torch at module top: others import them inside functions


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(mods: dict[str, Path]) -> list[tuple[str, str, bool, int]]:
    """(importer, imported project module, inside a function, line) for every import statement."""

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges = []
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stack = [(node, False) for node in tree.body]
        while stack:
            node, lazy = stack.pop()
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{a.name}" for a in node.names]
            else:
                targets = []
            for t in {resolve(t) for t in targets} - {None, mod}:
                edges.append((mod, t, lazy, node.lineno))
            inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            stack.extend((child, inner) for child in ast.iter_child_nodes(node))
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_imports_point_one_way():
    mods = _modules()
    wrong = [
        f"{mods[a].relative_to(REPO)}:{line}: imports {b}"
        for a, b, _, line in _imports(mods)
        if b.split(".")[0] not in ALLOWED[a.split(".")[0]]
    ]
    assert not wrong, "training -> assistant -> retrieval only:\n" + "\n".join(wrong)


def test_no_module_level_import_cycles():
    mods = _modules()
    graph = {m: set() for m in mods}
    for a, b, lazy, _ in _imports(mods):
        if not lazy:
            graph[a].add(b)
    assert _cycles(graph) == []


def test_no_cycle_hidden_in_a_function():
    mods = _modules()
    graph = {m: set() for m in mods}
    for a, b, _, _ in _imports(mods):
        graph[a].add(b)
    assert _cycles(graph) == []


def test_project_modules_are_imported_at_module_top():
    mods = _modules()
    lazy = [
        f"{mods[a].relative_to(REPO)}:{line}: {b}"
        for a, b, is_lazy, line in _imports(mods)
        if is_lazy and b not in HEAVY and (a, b) not in LAZY_OK
    ]
    assert not lazy, "import these at module top (lazy imports are for heavy libraries):\n" + "\n".join(lazy)


# The judge stands apart from what it judges: evaluation/ and simulation/ read replies with their own code.
# Only the harness wiring that has to call our assistant in process may import the runtime, and only these.
JUDGE = ("assistant.evaluation", "assistant.simulation")
RUNTIME = ("assistant.understanding", "assistant.checks", "assistant.generation", "assistant.orchestrator")
HARNESS = {
    "assistant.simulation.clients": {"assistant.orchestrator"},  # InProcessClient / make_client open a bundle
    "assistant.simulation.cli": {"assistant.faces.common"},  # configure_threads
    "assistant.evaluation.runner": {"assistant.orchestrator"},  # replay mode opens a bundle per worker
}


def test_evaluation_and_simulation_import_nothing_of_the_runtime():
    mods = _modules()
    wrong = [
        f"{mods[a].relative_to(REPO)}:{line}: imports {b}"
        for a, b, _, line in _imports(mods)
        if a.startswith(JUDGE) and b.startswith(RUNTIME + ("assistant.faces",)) and b not in HARNESS.get(a, set())
    ]
    assert not wrong, "the judge may not import the assistant's runtime:\n" + "\n".join(wrong)


# The rooms of assistant/ and the rooms each may import besides itself and retrieval: reading the shopper
# (understanding), writing (generation) and checking (checks) sit below the turn (orchestrator); the faces and
# the judge sit above it. `assistant.text` holds the runtime's text primitives, below all three.
ROOMS = {
    "assistant": {"assistant.orchestrator"},
    "assistant.text": set(),
    "assistant.dialogues": set(),
    "assistant.understanding": {"assistant.text"},
    "assistant.generation": {"assistant.text"},
    "assistant.checks": {"assistant.text", "assistant.understanding", "assistant.generation"},
    "assistant.orchestrator": {
        "assistant.text",
        "assistant.understanding",
        "assistant.generation",
        "assistant.checks",
    },
    "assistant.faces": {"assistant.text", "assistant.generation", "assistant.orchestrator"},
    "assistant.evaluation": {"assistant.dialogues", "assistant.orchestrator"},
    "assistant.simulation": {
        "assistant.dialogues",
        "assistant.evaluation",
        "assistant.faces",
        "assistant.orchestrator",
    },
}


def _room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_assistant_rooms_import_in_one_direction():
    mods = _modules()
    assert {_room(m) for m in mods if m.startswith("assistant")} == set(ROOMS), "a new room needs a line in ROOMS"
    wrong = [
        f"{mods[a].relative_to(REPO)}:{line}: imports {b}"
        for a, b, _, line in _imports(mods)
        if a.startswith("assistant")
        and b.startswith("assistant")
        and _room(b) != _room(a)
        and _room(b) not in ROOMS[_room(a)]
    ]
    assert not wrong, "assistant/ rooms import one way (see ROOMS):\n" + "\n".join(wrong)
