"""The house's layout as a test: data flows one way between rooms, and no module imports itself in a circle.

Rooms are the second-level packages (tools.pose, index.library, agent.trace...).
LAYERS lists them from the ground up; a room may import rooms of lower layers
only, never one of its own layer or above. Imports inside functions count too
(grimp reads every import statement), so a circle cannot hide in a function.
"""
from __future__ import annotations

import grimp
import pytest

LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer) for layer in (
    {"tools.core"},
    {"tools.video"},
    {"tools.pose"},
    {"tools.people"},
    {"tools.geometry"},
    {"tools.scoring"},
    {"tools.study", "tools.synth", "tools.report"},
    {"knowledge"},
    {"index.storage"},
    {"index.embedders"},
    {"index.library"},
    {"agent.trace"},
    {"agent.screening"},
    {"agent.chat"},
    {"agent.cli", "agent.app"},
))
LAYER_OF = {room: i for i, layer in enumerate(LAYERS) for room in layer}
# circles still being taken apart; this list only ever shrinks
KNOWN_CIRCLES: list[frozenset[str]] = [
]
KNOWN_UPWARD: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("tools", "index", "agent", "knowledge", include_external_packages=False)


def room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "knowledge":
        return "knowledge"
    return ".".join(parts[:2]) if len(parts) >= 2 and ".".join(parts[:2]) in LAYER_OF else None


def circles(graph) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.add(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(frozenset(comp))
    return out


def test_every_room_is_in_a_layer(graph):
    rooms = {room(m) for m in graph.modules} - {None}
    unplaced = sorted(r for r in {".".join(m.split(".")[:2]) for m in graph.modules if m.count(".") >= 2}
                      if r not in LAYER_OF)
    assert rooms, "no rooms found"
    assert not unplaced, f"rooms missing from LAYERS: {unplaced}"


def test_no_import_circles(graph):
    new = [sorted(c) for c in circles(graph) if c not in KNOWN_CIRCLES]
    assert not new, f"modules that import each other in a circle: {new}"


def test_data_flows_one_way_between_rooms(graph):
    upward = set()
    for m in graph.modules:
        a = room(m)
        for w in graph.find_modules_directly_imported_by(m):
            b = room(w)
            if a and b and a != b and LAYER_OF[b] >= LAYER_OF[a]:
                upward.add((a, b))
    assert upward <= KNOWN_UPWARD, f"imports from a lower (or the same) layer upward: {sorted(upward - KNOWN_UPWARD)}"


def test_the_circle_finder_finds_a_circle():
    class Fake:
        modules = {"a", "b", "c"}

        @staticmethod
        def find_modules_directly_imported_by(m):
            return {"a": {"b"}, "b": {"a"}, "c": {"a"}}[m]
    assert circles(Fake()) == [frozenset({"a", "b"})]
