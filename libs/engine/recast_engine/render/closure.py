"""Find the module-level source a set of functions needs, so it can be copied into a standalone script.

Given a module and the names of some of its top-level functions, `collect_definitions` returns the top-level
statements (functions, classes, constants, imports) those functions reference, transitively, in the module's
own order, so the copied code runs exactly as it does inside the module.
"""
from __future__ import annotations

import ast
import builtins
import functools
import inspect
import re
from dataclasses import dataclass, field
from types import ModuleType

_BUILTINS = frozenset(dir(builtins))


@dataclass
class TopLevel:
    """One top-level statement of a module, with the names it binds and the names it reads."""

    node: ast.stmt
    source: str
    binds: frozenset[str]
    reads: frozenset[str]
    order: int


@dataclass
class Definitions:
    """What a script needs from one module: imports (as statements) and definitions, in module order."""

    module_name: str
    imports: list[ast.stmt] = field(default_factory=list)
    statements: list[TopLevel] = field(default_factory=list)

    def bound_names(self) -> set[str]:
        names: set[str] = set()
        for s in self.statements:
            names |= s.binds
        for imp in self.imports:
            names |= _bound_by(imp)
        return names


def _bound_by(node: ast.stmt) -> frozenset[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return frozenset({node.name})
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return frozenset((a.asname or a.name).split(".")[0] for a in node.names)
    names = set()
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, ast.Expr):
        # `_TABLE.update(...)` at module level completes the definition of `_TABLE`
        root = node.value
        while isinstance(root, (ast.Call, ast.Attribute, ast.Subscript)):
            root = root.func if isinstance(root, ast.Call) else root.value
        if isinstance(root, ast.Name):
            names.add(root.id)
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
            elif isinstance(sub, (ast.Subscript, ast.Attribute)):
                root = sub
                while isinstance(root, (ast.Subscript, ast.Attribute)):
                    root = root.value
                if isinstance(root, ast.Name):
                    names.add(root.id)
    if not names:
        # if/try blocks at module level: whatever they bind inside
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in sub.names}
    return frozenset(names)


def _read_by(node: ast.stmt) -> frozenset[str]:
    return frozenset(
        sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)
    ) - _BUILTINS


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
        node.value.value, str
    )


def parse_module(source: str) -> list[TopLevel]:
    """The module's top-level statements with their source text, in one pass over the source."""
    tree = ast.parse(source)
    lines = _source_lines(source)
    result = []
    for order, node in enumerate(tree.body):
        if _is_docstring(node):
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        text = _segment(lines, node) or ast.unparse(node)
        result.append(TopLevel(node, text, _bound_by(node), _read_by(node), order))
    return result


def _source_lines(source: str) -> list[str]:
    """The lines as the parser counts them (ast.get_source_segment's split, done once instead of per statement)."""
    lines = _LINE.findall(source)
    rest = source[sum(map(len, lines)) :]
    return lines + [rest] if rest else lines


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def _segment(lines: list[str], node: ast.stmt) -> str | None:
    """The statement's source as ast.get_source_segment gives it, except that a decorated definition starts at its
    first decorator and runs to the end of its last line (whole lines)."""
    if node.end_lineno is None or node.end_col_offset is None:
        return None
    last = node.end_lineno - 1
    decorators = getattr(node, "decorator_list", [])
    if decorators:
        first = min(d.lineno for d in decorators) - 1
        return "".join(lines[first:last]) + lines[last].rstrip("\r\n")
    first = node.lineno - 1
    # offsets count UTF-8 bytes
    if first == last:
        return lines[first].encode()[node.col_offset : node.end_col_offset].decode()
    head = lines[first].encode()[node.col_offset :].decode()
    tail = lines[last].encode()[: node.end_col_offset].decode()
    return "".join([head, *lines[first + 1 : last], tail])


@functools.lru_cache(maxsize=32)
def _parsed(source: str) -> tuple[TopLevel, ...]:
    """parse_module, once per distinct source (the coder renders from the same runtime modules every time)."""
    return tuple(parse_module(source))


def collect_from_source(source: str, module_name: str, roots: set[str]) -> Definitions:
    """The imports and statements of `source` that the top-level names `roots` need, transitively."""
    statements = _parsed(source)
    binders: dict[str, list[TopLevel]] = {}
    for s in statements:
        for name in s.binds:
            binders.setdefault(name, []).append(s)
    missing = [r for r in roots if r not in binders]
    if missing:
        raise KeyError(f"{module_name} defines no {', '.join(sorted(missing))}")
    needed: dict[int, TopLevel] = {}
    needed_import_names: set[str] = set()
    pending = list(roots)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for s in binders.get(name, []):
            if isinstance(s.node, (ast.Import, ast.ImportFrom)):
                needed_import_names.add(name)
                continue
            if s.order not in needed:
                needed[s.order] = s
                pending.extend(s.reads | s.binds)
    imports: list[ast.stmt] = []
    for s in statements:
        if not isinstance(s.node, (ast.Import, ast.ImportFrom)):
            continue
        aliases = [a for a in s.node.names if (a.asname or a.name).split(".")[0] in needed_import_names]
        if not aliases:
            continue
        if isinstance(s.node, ast.Import):
            imports.append(ast.Import(names=aliases))
        else:
            imports.append(ast.ImportFrom(module=s.node.module, names=aliases, level=s.node.level))
    return Definitions(module_name, imports, [needed[k] for k in sorted(needed)])


def collect_definitions(module: ModuleType, roots: set[str]) -> Definitions:
    return collect_from_source(inspect.getsource(module), module.__name__, roots)


def _local_names(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Names local to a function: its parameters and what it assigns (minus `global` declarations)."""
    args = fn.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    names = {a.arg for a in params if a is not None}
    if isinstance(fn, ast.Lambda):
        return names
    declared_global: set[str] = set()
    for stmt in fn.body:
        for sub in ast.walk(stmt):
            if isinstance(sub, (ast.Global, ast.Nonlocal)):
                declared_global |= set(sub.names)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
    return names - declared_global


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.mapping.get(node.id, node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.mapping.get(node.name, node.name)
        for decorator in node.decorator_list:
            self.visit(decorator)
        outer = self.mapping
        self.mapping = {k: v for k, v in outer.items() if k not in _local_names(node)}
        for child in [node.args, *node.body]:
            self.visit(child)
        if node.returns is not None:
            self.visit(node.returns)
        self.mapping = outer
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        outer = self.mapping
        self.mapping = {k: v for k, v in outer.items() if k not in _local_names(node)}
        self.visit(node.body)
        self.mapping = outer
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.name = self.mapping.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_Global(self, node: ast.Global) -> ast.Global:
        node.names = [self.mapping.get(n, n) for n in node.names]
        return node

    def visit_alias(self, node: ast.alias) -> ast.alias:
        bound = node.asname or node.name
        if bound in self.mapping:
            node.asname = self.mapping[bound]
        return node


def rename(definitions: Definitions, mapping: dict[str, str]) -> Definitions:
    """The same definitions with top-level names renamed (used when two modules define the same name)."""
    if not mapping:
        return definitions
    import copy

    renamer = _Renamer(mapping)
    imports = [renamer.visit(copy.deepcopy(i)) for i in definitions.imports]
    statements = []
    for s in definitions.statements:
        node = renamer.visit(copy.deepcopy(s.node))
        statements.append(
            TopLevel(
                node,
                ast.unparse(node),
                frozenset(mapping.get(n, n) for n in s.binds),
                frozenset(mapping.get(n, n) for n in s.reads),
                s.order,
            )
        )
    return Definitions(definitions.module_name, imports, statements)
