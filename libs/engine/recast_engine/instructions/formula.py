"""Arithmetic over column names: parse, normalize and evaluate `unit_price * quantity`, `(temp_f - 32) * 5 / 9`.

Grammar (precedence climbing): expr := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*;
factor := '-' factor | NUMBER | NAME | '(' expr ')'. A NAME is an identifier (letters, digits, '_') or a name in
backquotes, single or double quotes when it holds spaces. Evaluation uses Decimal, so 0.1 + 0.2 is 0.3.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|`(?P<bq>[^`]+)`|\"(?P<dq>[^\"]+)\""
    r"|'(?P<sq>[^']+)'|(?P<op>[-+*/()]))"
)


class FormulaError(ValueError):
    pass


@dataclass(frozen=True)
class Node:
    kind: str  # "num", "col", "neg", "+", "-", "*", "/"
    value: str = ""
    left: Node | None = None
    right: Node | None = None


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FormulaError(f"unexpected {text[pos:pos + 10]!r}")
        pos = match.end()
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        value = match.group(kind)
        if kind in ("bq", "dq", "sq"):
            kind = "name"
        out.append((kind, value))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FormulaError("the formula ends too early")
        self.i += 1
        return token

    def expr(self) -> Node:
        node = self.term()
        while (t := self.peek()) in (("op", "+"), ("op", "-")):
            self.take()
            node = Node(t[1], left=node, right=self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while (t := self.peek()) in (("op", "*"), ("op", "/")):
            self.take()
            node = Node(t[1], left=node, right=self.factor())
        return node

    def factor(self) -> Node:
        kind, value = self.take()
        if (kind, value) == ("op", "-"):
            return Node("neg", left=self.factor())
        if kind == "number":
            return Node("num", value)
        if kind == "name":
            return Node("col", value)
        if (kind, value) == ("op", "("):
            node = self.expr()
            if self.take() != ("op", ")"):
                raise FormulaError("a '(' is not closed")
            return node
        raise FormulaError(f"unexpected {value!r}")


def parse_formula(text: str) -> Node:
    tokens = _tokens(text)
    if not any(k == "op" and v in "+-*/" for k, v in tokens):
        raise FormulaError("no arithmetic operator")
    parser = _Parser(tokens)
    node = parser.expr()
    extra = parser.peek()
    if extra is not None:
        raise FormulaError(f"unexpected {extra[1]!r}")
    return node


def columns_of(node: Node) -> list[str]:
    found: list[str] = []

    def walk(n: Node | None) -> None:
        if n is None:
            return
        if n.kind == "col" and n.value not in found:
            found.append(n.value)
        walk(n.left)
        walk(n.right)

    walk(node)
    return found


def _name(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f"`{name}`"


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def to_text(node: Node) -> str:
    """The formula written back with only the parentheses it needs: `(temp_f - 32) * 5 / 9`."""
    if node.kind == "num":
        return node.value
    if node.kind == "col":
        return _name(node.value)
    left, right = node.left, node.right
    assert left is not None  # an operator node has its operands
    if node.kind == "neg":
        inner = to_text(left)
        return f"-{inner}" if left.kind in ("num", "col", "neg") else f"-({inner})"
    assert right is not None
    mine = _PRECEDENCE[node.kind]

    def side(child: Node, right: bool) -> str:
        text = to_text(child)
        theirs = _PRECEDENCE.get(child.kind, 3)
        return f"({text})" if theirs < mine or (right and theirs == mine) else text

    return f"{side(left, False)} {node.kind} {side(right, True)}"
