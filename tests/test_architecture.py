"""House rules for fpnorm's import structure, measured with ``ast`` (fpnorm itself is never imported).

Run as a test module (``python -m pytest tests/test_architecture.py``) to check the rules, or as a script to print the
measured numbers::

    python tests/test_architecture.py [path/to/fpnorm]

The package directory defaults to the ``fpnorm/`` next to ``tests/``. The script exits with 1 when a house rule is
broken, 0 otherwise. ``python -m pytest tests/test_architecture.py -k analyser`` runs only the unit tests of the
analyser on small synthetic packages with known answers.

Definitions
-----------
node
    One module file of the package, named by its dotted name (``fpnorm.solvers.qr``); ``pkg/__init__.py`` is the
    module ``pkg``. Every ``*.py`` file under the package directory is a node (``__pycache__`` and directories that are
    not Python identifiers are skipped).
edge A -> B
    A contains an import statement anywhere (module level, or inside a function, method or class body) that resolves
    to the package module B. ``from P import n`` (P given relatively at any level, or absolutely as ``fpnorm...``)
    gives an edge to ``P.n`` when that is a module, and otherwise (``n`` is a name defined in P, or ``*``) an edge to
    P; ``import fpnorm.y`` gives an edge to ``fpnorm.y``. No implicit edges to parent packages are added (importing
    ``fpnorm.solvers.qr`` runs ``fpnorm/solvers/__init__.py``, but pydeps and import-linter ignore that, and so do
    we): in particular ``from .solvers import qr`` is an edge to ``fpnorm.solvers.qr`` only. Self-edges are ignored.
    Imports in the body of ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``; the ``else`` branch of
    ``if not TYPE_CHECKING:``) are ignored throughout. An import of the package that resolves to no module (a
    relative import above the package root, a misspelt module) gives no edge and is listed as unresolved.
circles
    Strongly connected components of the import graph with more than one module (iterative Tarjan).
floors
    The number of nodes on the longest path of the condensation DAG: a module importing nothing of the package is on
    floor 1, and a module is one floor above the highest module it imports. A circle, condensed, is one floor.
arrows
    The number of distinct edges.
function-local imports of the package
    Import statements inside a function or method body (at any nesting, including methods of classes defined in
    functions) that resolve to at least one package module other than the importing one. Counted per statement.
lazy third-party imports
    Import statements inside a function or method body of a module outside the package and outside the standard
    library (``sys.stdlib_module_names``). Each must be of a deliberately lazy heavy optional dependency
    (`LAZY_ALLOWED`) AND carry a ``#`` comment saying why, on one of the statement's own lines or on a comment-only
    line directly above it; a comment that is only a linter directive (``# noqa: PLC0415``) is no reason. Standard
    library imports inside functions are reported but allowed.
private top-level module files
    Files directly in the package directory whose name starts with ``_``, other than ``__init__.py`` and
    ``__main__.py``.
private names crossing a module boundary
    ``from X import _name`` (one leading underscore, not a dunder) where X resolves to a package module other than the
    importing one and ``X._name`` is not itself a module. A private module (a non-package module whose file name
    starts with ``_``, not a dunder) may be imported only by modules in its own directory or below; a private package
    directory (``fpnorm/_internal/``) is importable from anywhere in the package, its non-private modules too, but the
    private ``_names`` of its modules are not. Attribute access such as ``mod._name`` is not detected.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import functools
import io
import sys
import textwrap
import tokenize
from pathlib import Path

DEFAULT_PACKAGE = Path(__file__).resolve().parents[1] / "fpnorm"

MAX_FLOORS = 12
MAX_FUNCTION_LOCAL_PACKAGE_IMPORTS = 15
MAX_PRIVATE_TOP_LEVEL_MODULES = 2
# Heavy optional dependencies that may be imported inside a function, so that importing fpnorm stays cheap.
LAZY_ALLOWED = frozenset({"cvxpy", "dask", "distributed", "matplotlib"})

# Words that make up linter directives; a comment made of nothing else does not say why an import is lazy.
_DIRECTIVE_WORDS = frozenset({"noqa", "type", "ignore", "pragma", "cover", "pylint", "disable", "isort", "skip", "fmt",
                              "off", "on"})


# ----------------------------------------------------------------------------------------------------------------------
# Data


@dataclasses.dataclass(frozen=True)
class ImportSite:
    """One import statement of one package module, with what it resolves to.

    Attributes
    ----------
    importer : str
        Dotted name of the module containing the statement.
    location : str
        ``path:line`` of the statement, the path relative to the package's parent directory.
    statement : str
        The statement, unparsed on one line.
    in_function : bool
        Whether the statement is inside a function or method body (at any nesting).
    targets : tuple of str
        Package modules the statement resolves to (the importer itself excluded).
    external : tuple of str
        Top-level names of the modules outside the package that the statement imports.
    unresolved : tuple of str
        Package imports that resolve to no module.
    private_names : tuple of (str, str)
        ``(module, name)`` for each ``from module import _name`` where ``_name`` is a private name, not a module.
    has_reason : bool
        Whether a ``#`` comment says why (same lines, or a comment-only line directly above).
    """

    importer: str
    location: str
    statement: str
    in_function: bool
    targets: tuple[str, ...] = ()
    external: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()
    private_names: tuple[tuple[str, str], ...] = ()
    has_reason: bool = False

    def __str__(self):
        """``path:line: statement``."""
        return f"{self.location}: {self.statement}"


@dataclasses.dataclass
class Report:
    """Measured import structure of one package.

    Attributes
    ----------
    package : str
        The package's name (its directory name).
    modules : dict of str to Path
        Every module, by dotted name.
    sites : list of ImportSite
        Every import statement of the package's modules (``TYPE_CHECKING`` blocks excluded).
    edges : dict of (str, str) to list of ImportSite
        Every distinct edge ``(importer, imported)`` with the statements that make it.
    circles : list of list of str
        Strongly connected components with more than one module, each sorted, sorted by first module.
    floors : int
        Number of components on the longest path of the condensation DAG.
    floor_of : dict of str to int
        Floor of each module.
    longest_chain : list of list of str
        One longest path, from the top floor down, as components (a one-module list unless a circle).
    private_top_level : list of str
        File names of private top-level module files.
    private_crossings : list of (ImportSite, str)
        Imports that break the private-name rules, with what they break.
    """

    package: str
    modules: dict[str, Path]
    sites: list[ImportSite]
    edges: dict[tuple[str, str], list[ImportSite]]
    circles: list[list[str]]
    floors: int
    floor_of: dict[str, int]
    longest_chain: list[list[str]]
    private_top_level: list[str]
    private_crossings: list[tuple[ImportSite, str]]

    @property
    def arrows(self):
        """Number of distinct edges."""
        return len(self.edges)

    @property
    def function_local_package_imports(self):
        """Import statements in function bodies that resolve to a package module."""
        return [s for s in self.sites if s.in_function and s.targets]

    @property
    def lazy_third_party(self):
        """Import statements in function bodies of modules outside the package and the standard library."""
        return [s for s in self.sites if s.in_function and _third_party(s.external)]

    @property
    def lazy_stdlib(self):
        """Import statements in function bodies of standard-library modules only (allowed)."""
        return [s for s in self.sites if s.in_function and s.external and not _third_party(s.external)]

    @property
    def lazy_violations(self):
        """Lazy third-party imports that break the rule, each with what is wrong."""
        out = []
        for site in self.lazy_third_party:
            problems = []
            disallowed = sorted(set(_third_party(site.external)) - LAZY_ALLOWED)
            if disallowed:
                problems.append(f"{', '.join(disallowed)} not in the lazy allow-list {sorted(LAZY_ALLOWED)}")
            if not site.has_reason:
                problems.append("no comment saying why")
            if problems:
                out.append((site, "; ".join(problems)))
        return out

    @property
    def unresolved(self):
        """Imports of the package that resolve to no module."""
        return [s for s in self.sites if s.unresolved]


def _third_party(tops):
    return tuple(t for t in tops if t not in sys.stdlib_module_names)


# ----------------------------------------------------------------------------------------------------------------------
# Analysis


def _is_private(name):
    """Whether `name` has a single leading underscore (``_x``, not ``__x__``)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _find_modules(package_dir):
    """Map dotted module name -> (path, is_package) for every module file under `package_dir`."""
    root = package_dir.parent
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(root)
        dirs = rel.parts[:-1]
        if any(d == "__pycache__" or not d.isidentifier() for d in dirs) or not path.stem.isidentifier():
            continue
        if path.stem == "__init__":
            modules[".".join(dirs)] = (path, True)
        else:
            modules[".".join(dirs + (path.stem,))] = (path, False)
    return modules


def _type_checking_branch(test):
    """Tell which branch of an ``if`` is type-checking only: ``True`` the body, ``False`` the ``else``, or ``None``."""
    def is_tc(node):
        return ((isinstance(node, ast.Name) and node.id == "TYPE_CHECKING")
                or (isinstance(node, ast.Attribute) and node.attr == "TYPE_CHECKING"))
    if is_tc(test):
        return True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and is_tc(test.operand):
        return False
    return None


def _iter_imports(node, in_function=False):
    """Yield ``(import_node, in_function)`` for every import under `node`, skipping ``TYPE_CHECKING`` blocks."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node, in_function
        return
    children = ast.iter_child_nodes(node)
    if isinstance(node, ast.If):
        branch = _type_checking_branch(node.test)
        if branch is True:
            children = node.orelse
        elif branch is False:
            children = node.body
    inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    for child in children:
        yield from _iter_imports(child, inner)


def _comments(source):
    """Return ``(lines with a reason-bearing comment, lines that hold only a comment)`` of `source`."""
    reason_lines, comment_only = set(), set()
    lines = source.splitlines()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type != tokenize.COMMENT:
                continue
            row, col = tok.start
            if not lines[row - 1][:col].strip():
                comment_only.add(row)
            words = [w.strip(".,;:()[]'\"`-").lower() for w in tok.string.lstrip("#").split()]
            if any(w.isalpha() and len(w) >= 3 and w not in _DIRECTIVE_WORDS for w in words):
                reason_lines.add(row)
    except (tokenize.TokenError, IndentationError):  # ast.parse has already accepted the source; be lenient
        pass
    return reason_lines, comment_only


class _Resolver:
    """Resolve import statements of one package to its modules."""

    def __init__(self, package, modules):
        self.package = package
        self.modules = modules

    def _base(self, importer, level):
        """Package a relative import of `level` starts from, or ``None`` if above the package root."""
        parts = importer.split(".")
        if not self.modules[importer][1]:
            parts = parts[:-1]
        if level - 1 >= len(parts):
            return None
        return ".".join(parts[: len(parts) - (level - 1)])

    def resolve(self, importer, node):
        """Return ``(targets, external tops, unresolved, private names)`` of one import statement."""
        targets, external, unresolved, private = [], [], [], []
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top != self.package:
                    external.append(top)
                elif alias.name in self.modules:
                    targets.append(alias.name)
                else:
                    unresolved.append(alias.name)
            return targets, external, unresolved, private
        if node.level:
            base = self._base(importer, node.level)
            if base is None:
                return targets, external, ["." * node.level + (node.module or "")], private
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module
            top = source.split(".")[0]
            if top != self.package:
                return targets, [top], unresolved, private
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            if alias.name != "*" and sub in self.modules:
                targets.append(sub)
            elif source in self.modules:
                targets.append(source)
                if _is_private(alias.name):
                    private.append((source, alias.name))
            else:
                unresolved.append(sub if alias.name != "*" else source)
        return targets, external, unresolved, private


def _strongly_connected(nodes, succ):
    """Strongly connected components of a graph, iterative Tarjan, in reverse topological order (sinks first)."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ[w])))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    comps.append(sorted(comp))
    return comps


def _floors(comps, succ):
    """Floor of every component (given sinks first) and one longest chain, from the top floor down."""
    comp_of = {m: i for i, comp in enumerate(comps) for m in comp}
    floor, below = [0] * len(comps), [None] * len(comps)
    for i, comp in enumerate(comps):
        floor[i] = 1
        for m in comp:
            for w in succ[m]:
                j = comp_of[w]
                if j != i and floor[j] + 1 > floor[i]:
                    floor[i], below[i] = floor[j] + 1, j
    chain = []
    if comps:
        i = min(range(len(comps)), key=lambda k: (-floor[k], comps[k][0]))  # highest floor, then by name
        while i is not None:
            chain.append(comps[i])
            i = below[i]
    return {m: floor[comp_of[m]] for m in comp_of}, (max(floor) if comps else 0), chain


def analyse(package_dir):
    """Measure the import structure of the package in `package_dir`.

    Parameters
    ----------
    package_dir : str or Path
        Directory of the package (it holds ``__init__.py``); its name is the package's name.

    Returns
    -------
    Report
        Modules, import statements, edges, circles, floors and the house-rule offenders.
    """
    package_dir = Path(package_dir).resolve()
    package = package_dir.name
    found = _find_modules(package_dir)
    resolver = _Resolver(package, found)
    root = package_dir.parent
    sites = []
    for name, (path, _) in found.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        reason_lines, comment_only = _comments(source)
        for node, in_function in _iter_imports(tree):
            targets, external, unresolved, private = resolver.resolve(name, node)
            end = node.end_lineno or node.lineno
            has_reason = (any(r in reason_lines for r in range(node.lineno, end + 1))
                          or (node.lineno - 1 in reason_lines and node.lineno - 1 in comment_only))
            sites.append(ImportSite(
                importer=name,
                location=f"{path.relative_to(root).as_posix()}:{node.lineno}",
                statement=ast.unparse(node),
                in_function=in_function,
                targets=tuple(dict.fromkeys(t for t in targets if t != name)),
                external=tuple(dict.fromkeys(external)),
                unresolved=tuple(unresolved),
                private_names=tuple(p for p in private if p[0] != name),
                has_reason=has_reason,
            ))

    edges = collections.defaultdict(list)
    for site in sites:
        for target in site.targets:
            edges[(site.importer, target)].append(site)
    succ = {m: sorted({b for (a, b) in edges if a == m}) for m in found}
    comps = _strongly_connected(sorted(found), succ)
    floor_of, floors, chain = _floors(comps, succ)
    circles = sorted(c for c in comps if len(c) > 1)

    private_top_level = sorted(p.name for p in package_dir.glob("*.py")
                               if _is_private(p.stem) and p.name not in ("__init__.py", "__main__.py"))

    def directory(module):
        return module if found[module][1] else module.rpartition(".")[0]

    crossings = []
    for site in sites:
        for module, name in site.private_names:
            crossings.append((site, f"private name {name!r} of {module}"))
        for target in site.targets:
            if found[target][1] or not _is_private(target.rpartition(".")[2]):
                continue
            home, where = directory(target), directory(site.importer)
            if where != home and not where.startswith(home + "."):
                crossings.append((site, f"private module {target} imported from outside {home.replace('.', '/')}/"))

    return Report(package=package, modules={m: p for m, (p, _) in found.items()}, sites=sites, edges=dict(edges),
                  circles=circles, floors=floors, floor_of=floor_of, longest_chain=chain,
                  private_top_level=private_top_level, private_crossings=crossings)


# ----------------------------------------------------------------------------------------------------------------------
# Messages


def _circle_text(report, circle):
    members = set(circle)
    lines = [" <-> ".join(circle)]
    for (a, b), sites in sorted(report.edges.items()):
        if a in members and b in members:
            lines.append(f"    {a} -> {b}: " + "; ".join(str(s) for s in sites))
    return "\n".join(lines)


def _chain_text(chain):
    return " -> ".join(" | ".join(comp) if len(comp) > 1 else comp[0] for comp in chain)


def _per_module(sites):
    counts = collections.Counter(s.importer for s in sites)
    return ", ".join(f"{m} ({n})" for m, n in counts.most_common())


def _bullets(items):
    return "\n".join(f"  {item}" for item in items)


def _rule_failures(report):
    """List the house rules that `report` breaks, as ``(rule, message naming the offenders)`` pairs."""
    failures = []
    if report.circles:
        message = f"{len(report.circles)} import circle(s) (cut one import of each):\n"
        message += "\n".join(_circle_text(report, c) for c in report.circles)
        failures.append(("no import circles", message))
    if report.floors > MAX_FLOORS:
        message = f"{report.floors} import floors > {MAX_FLOORS}; longest chain:\n  {_chain_text(report.longest_chain)}"
        failures.append(("import floors", message))
    local = report.function_local_package_imports
    if len(local) > MAX_FUNCTION_LOCAL_PACKAGE_IMPORTS:
        message = (f"{len(local)} function-local imports of package modules > {MAX_FUNCTION_LOCAL_PACKAGE_IMPORTS}; "
                   f"per module: {_per_module(local)}\n{_bullets(local)}")
        failures.append(("function-local imports of the package", message))
    if report.lazy_violations:
        message = (f"{len(report.lazy_violations)} lazy third-party import(s) break the rule (allowed: "
                   f"{sorted(LAZY_ALLOWED)}, each with a comment saying why):\n")
        message += _bullets(f"{s}  -- {why}" for s, why in report.lazy_violations)
        failures.append(("lazy imports are the allowed heavy ones with a reason", message))
    if len(report.private_top_level) > MAX_PRIVATE_TOP_LEVEL_MODULES:
        message = (f"{len(report.private_top_level)} private top-level module files > "
                   f"{MAX_PRIVATE_TOP_LEVEL_MODULES}: {', '.join(report.private_top_level)}")
        failures.append(("private top-level modules", message))
    if report.private_crossings:
        message = f"{len(report.private_crossings)} private name(s) cross a module boundary:\n"
        message += _bullets(f"{s}  -- {why}" for s, why in report.private_crossings)
        failures.append(("no private name crosses a module boundary", message))
    return failures


def format_report(report):
    """Write the measured numbers of `report` as text.

    Parameters
    ----------
    report : Report
        As returned by `analyse`.

    Returns
    -------
    str
        One section per measure, offenders listed.
    """
    local = report.function_local_package_imports
    out = [
        f"package: {report.package}  ({len(report.modules)} modules, {len(report.sites)} import statements)",
        f"circles: {len(report.circles)}",
        *(f"  {_circle_text(report, c)}" for c in report.circles),
        f"floors: {report.floors}",
        f"  longest chain: {_chain_text(report.longest_chain)}",
        f"arrows: {report.arrows}",
        f"function-local imports of the package: {len(local)}",
        f"  per module: {_per_module(local)}",
        f"lazy third-party imports: {len(report.lazy_third_party)}, breaking the rule: {len(report.lazy_violations)}",
        *(f"  {s}  -- {why}" for s, why in report.lazy_violations),
        f"lazy standard-library imports (allowed): {len(report.lazy_stdlib)}",
        *(f"  {s}" for s in report.lazy_stdlib),
        f"private top-level module files: {len(report.private_top_level)}",
        *(f"  {name}" for name in report.private_top_level),
        f"private names crossing a module boundary: {len(report.private_crossings)}",
        *(f"  {s}  -- {why}" for s, why in report.private_crossings),
    ]
    if report.unresolved:
        out.append(f"unresolved imports of the package: {len(report.unresolved)}")
        out.extend(f"  {s}  -- {', '.join(s.unresolved)}" for s in report.unresolved)
    failures = _rule_failures(report)
    out.append("house rules broken: " + (", ".join(rule for rule, _ in failures) if failures else "none"))
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------------------------------
# House rules on fpnorm


@functools.cache
def _package_report():
    return analyse(DEFAULT_PACKAGE)


def _check(rule):
    failures = dict(_rule_failures(_package_report()))
    broken = rule in failures
    assert not broken, failures[rule]


def test_no_import_circles():
    _check("no import circles")


def test_import_floors():
    _check("import floors")


def test_function_local_imports_of_the_package():
    _check("function-local imports of the package")


def test_lazy_imports_are_the_allowed_heavy_ones_with_a_reason():
    _check("lazy imports are the allowed heavy ones with a reason")


def test_private_top_level_modules():
    _check("private top-level modules")


def test_no_private_name_crosses_a_module_boundary():
    _check("no private name crosses a module boundary")


# ----------------------------------------------------------------------------------------------------------------------
# Unit tests of the analyser on synthetic packages with known answers


def _write_package(tmp_path, files, name="pkg"):
    """Write `files` (relative path -> source) as package `name` under `tmp_path`; return the package directory."""
    package_dir = tmp_path / name
    for rel, source in files.items():
        path = package_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return package_dir


def test_analyser_finds_a_known_circle_and_counts_arrows(tmp_path):
    pkg = _write_package(tmp_path, {
        "__init__.py": "from .d import run\n",
        "a.py": "from . import b\n",
        "b.py": "from .c import thing\n",
        "c.py": "def thing():\n    from pkg import a\n    return a\n",
        "d.py": "import pkg.a\nimport pkg.a as again\nrun = 1\n",
        "e.py": "from . import e\nimport os\n",
    })
    report = analyse(pkg)
    assert report.circles == [["pkg.a", "pkg.b", "pkg.c"]]
    assert set(report.edges) == {("pkg", "pkg.d"), ("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.a"),
                                 ("pkg.d", "pkg.a")}
    assert report.arrows == 5  # the repeated d -> a counts once, the self-import e -> e not at all
    assert report.floors == 3  # pkg -> d -> {a, b, c}: the circle is one floor
    assert report.longest_chain == [["pkg"], ["pkg.d"], ["pkg.a", "pkg.b", "pkg.c"]]
    assert "pkg.a <-> pkg.b <-> pkg.c" in format_report(report)


def test_analyser_resolves_relative_imports_and_counts_floors(tmp_path):
    pkg = _write_package(tmp_path, {
        "__init__.py": "",
        "m1.py": "import json\n",
        "m2.py": "from .m1 import x\n",
        "m3.py": "from . import m2, m1\nfrom .m1 import *\n",
        "sub/__init__.py": "from . import m5\nfrom .. import VERSION\n",
        "sub/m4.py": "from ..m3 import y\nfrom .. import m1\nfrom . import helper\n",
        "sub/m5.py": "from ...outside import z\n",
        "sub/deep/m6.py": "from ...sub import m4\nfrom pkg.sub.m5 import w\n",
    })
    report = analyse(pkg)
    assert set(report.edges) == {
        ("pkg.m2", "pkg.m1"), ("pkg.m3", "pkg.m2"), ("pkg.m3", "pkg.m1"),
        ("pkg.sub", "pkg.sub.m5"), ("pkg.sub", "pkg"),
        ("pkg.sub.m4", "pkg.m3"), ("pkg.sub.m4", "pkg.m1"), ("pkg.sub.m4", "pkg.sub"),
        # `from ...sub import m4` is an edge to the module m4 only, not to the package pkg.sub as well
        ("pkg.sub.deep.m6", "pkg.sub.m4"), ("pkg.sub.deep.m6", "pkg.sub.m5"),
    }
    assert report.circles == []
    assert report.floors == 5  # m6 -> m4 -> m3 -> m2 -> m1
    assert report.longest_chain == [["pkg.sub.deep.m6"], ["pkg.sub.m4"], ["pkg.m3"], ["pkg.m2"], ["pkg.m1"]]
    assert report.floor_of["pkg.m1"] == 1 and report.floor_of["pkg"] == 1 and report.floor_of["pkg.sub"] == 2
    assert [s.location for s in report.unresolved] == ["pkg/sub/m5.py:1"]  # three dots from pkg/sub/ is above pkg


def test_analyser_counts_function_local_imports_and_ignores_type_checking(tmp_path):
    pkg = _write_package(tmp_path, {
        "__init__.py": "",
        "a.py": "VALUE = 1\n",
        "b.py": "VALUE = 2\n",
        "c.py": """\
            from typing import TYPE_CHECKING
            import typing

            if TYPE_CHECKING:
                from .b import VALUE
            if typing.TYPE_CHECKING:
                import pkg.b
            else:
                import json

            class Outer:
                from . import a  # a class body is not a function body

                def method(self):
                    class Inner:
                        def deeper(self):
                            from .a import VALUE
                            return VALUE
                    return Inner

            def f():
                if True:
                    from pkg import a, b
                import math
                return a, b, math
        """,
    })
    report = analyse(pkg)
    local = report.function_local_package_imports
    assert [s.location for s in local] == ["pkg/c.py:17", "pkg/c.py:23"]
    assert set(report.edges) == {("pkg.c", "pkg.a"), ("pkg.c", "pkg.b")}
    assert [s.statement for s in report.lazy_stdlib] == ["import math"]
    assert report.lazy_third_party == []


def test_analyser_checks_lazy_third_party_imports(tmp_path):
    pkg = _write_package(tmp_path, {
        "__init__.py": "import numpy  # module level: not lazy\n",
        "heavy.py": """\
            def solve():
                import cvxpy as cp  # heavy optional dependency, loaded only for constrained solves
                return cp

            def plot():
                # matplotlib is slow to import and only needed for figures
                from matplotlib.figure import Figure
                return Figure

            def cluster():
                from dask.distributed import (  # noqa: PLC0415
                    Client,
                )
                return Client

            def cluster_with_reason():
                x = 1  # a comment about x, not about the import below
                from distributed import Client
                return Client, x

            def array():
                # numpy is needed anyway
                import numpy as np
                return np

            def both():
                import os, scipy
                return os, scipy
        """,
    })
    report = analyse(pkg)
    assert [s.location for s in report.lazy_third_party] == [f"pkg/heavy.py:{n}" for n in (2, 7, 11, 18, 23, 27)]
    violations = {s.location: why for s, why in report.lazy_violations}
    assert set(violations) == {f"pkg/heavy.py:{n}" for n in (11, 18, 23, 27)}
    assert violations["pkg/heavy.py:11"] == "no comment saying why"
    assert violations["pkg/heavy.py:18"] == "no comment saying why"
    assert violations["pkg/heavy.py:23"].startswith("numpy not in the lazy allow-list")
    assert "scipy not in" in violations["pkg/heavy.py:27"] and "no comment" in violations["pkg/heavy.py:27"]


def test_analyser_finds_private_names_and_modules_crossing_boundaries(tmp_path):
    pkg = _write_package(tmp_path, {
        "__init__.py": "from .a import _helper, __version__, public\nfrom . import _top\n",
        "__main__.py": "",
        "_top.py": "",
        "_other.py": "",
        "a.py": "_helper = public = 1\n__version__ = '0'\nfrom .a import _helper\n",
        "sub/__init__.py": "_flag = True\n",
        "sub/_priv.py": "from .._top import x\nfrom . import _flag\n",
        "sub/deeper/user.py": "from .. import _priv\n",
        "b.py": "from .sub import _priv\n",
        "_internal/__init__.py": "",
        "_internal/api.py": "from . import _impl\n_secret = 1\n",
        "_internal/_impl.py": "",
        "c.py": "from ._internal import api\nfrom ._internal.api import _secret\nimport pkg._internal._impl\n",
    })
    report = analyse(pkg)
    assert report.private_top_level == ["_other.py", "_top.py"]
    found = sorted((s.location, why) for s, why in report.private_crossings)
    assert found == [
        ("pkg/__init__.py:1", "private name '_helper' of pkg.a"),
        ("pkg/b.py:1", "private module pkg.sub._priv imported from outside pkg/sub/"),
        ("pkg/c.py:2", "private name '_secret' of pkg._internal.api"),
        ("pkg/c.py:3", "private module pkg._internal._impl imported from outside pkg/_internal/"),
        ("pkg/sub/_priv.py:2", "private name '_flag' of pkg.sub"),
    ]


def test_analyser_script_prints_the_numbers(tmp_path, capsys):
    pkg = _write_package(tmp_path, {"__init__.py": "from . import a\n", "a.py": "from . import b\n", "b.py": ""})
    assert main([str(pkg)]) == 0
    out = capsys.readouterr().out
    for line in ("circles: 0", "floors: 3", "arrows: 2", "function-local imports of the package: 0",
                 "house rules broken: none"):
        assert line in out.splitlines(), out


# ----------------------------------------------------------------------------------------------------------------------
# Script


def main(argv=None):
    """Print the measured numbers of a package; return 1 if a house rule is broken, else 0.

    Parameters
    ----------
    argv : list of str, optional
        ``[path/to/package]``; defaults to ``sys.argv[1:]``, and the package to the ``fpnorm/`` next to ``tests/``.

    Returns
    -------
    int
        Exit status.
    """
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        print(f"usage: {Path(__file__).name} [path/to/package]", file=sys.stderr)
        return 2
    package_dir = Path(argv[0]) if argv else DEFAULT_PACKAGE
    if not (package_dir / "__init__.py").is_file():
        print(f"not a package directory: {package_dir}", file=sys.stderr)
        return 2
    report = analyse(package_dir)
    print(format_report(report))
    return 1 if _rule_failures(report) else 0


if __name__ == "__main__":
    sys.exit(main())
