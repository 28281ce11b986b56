"""The AST closure: which module-level statements a set of functions needs, on fake modules of our own."""
from __future__ import annotations

import ast
import textwrap

import pytest
from recast_engine.render.closure import Definitions, collect_from_source, parse_module, rename

FAKE = textwrap.dedent(
    '''
    """A fake runtime module."""
    from __future__ import annotations

    import functools
    import re
    from datetime import date, datetime as _dt
    from decimal import Decimal, ROUND_HALF_UP

    _WORD = re.compile(r"\\w+")
    _UNUSED = 42
    _TABLE = {"a": 1}
    _TABLE.update({"b": 2})
    _ALIASES = {k.upper(): v for k, v in _TABLE.items()}


    def _helper(text):
        return _WORD.findall(text)


    def _other():
        return _UNUSED


    @functools.lru_cache(maxsize=None)
    def words(text):
        """Uses a helper, which uses a constant, which uses an import."""
        return " ".join(_helper(text))


    def today_name(text):
        return _dt.now().strftime(text) + str(_ALIASES)


    def shadow(re):
        _UNUSED = 1  # a local with a module-level name
        return re


    class Box:
        LIMIT = 3


    def boxed(text):
        return text[: Box.LIMIT]
    '''
)


def names(defs: Definitions) -> set[str]:
    return {n for s in defs.statements for n in s.binds}


def import_text(defs: Definitions) -> list[str]:
    return [ast.unparse(i) for i in defs.imports]


def run_definitions(defs: Definitions) -> dict:
    source = "\n".join(import_text(defs)) + "\n\n" + "\n\n".join(s.source for s in defs.statements)
    namespace: dict = {}
    exec(compile(source, "<copied>", "exec"), namespace)  # noqa: S102 - the code under test
    return namespace


def test_collects_helpers_constants_and_imports_transitively() -> None:
    defs = collect_from_source(FAKE, "fake", {"words"})
    assert names(defs) == {"words", "_helper", "_WORD"}
    assert import_text(defs) == ["import functools", "import re"]
    assert run_definitions(defs)["words"]("hi, there!") == "hi there"


def test_keeps_module_order_and_follow_up_statements() -> None:
    defs = collect_from_source(FAKE, "fake", {"today_name"})
    assert names(defs) == {"today_name", "_ALIASES", "_TABLE"}
    sources = [s.source for s in defs.statements]
    assert sources.index('_TABLE = {"a": 1}') < sources.index('_TABLE.update({"b": 2})')
    assert import_text(defs) == ["from datetime import datetime as _dt"]
    assert "{'A': 1, 'B': 2}" in run_definitions(defs)["today_name"]("")


def test_decorators_are_kept_with_their_function() -> None:
    defs = collect_from_source(FAKE, "fake", {"words"})
    words = next(s for s in defs.statements if "words" in s.binds)
    assert words.source.startswith("@functools.lru_cache(maxsize=None)\ndef words(text):")


def test_classes_are_copied_when_referenced() -> None:
    defs = collect_from_source(FAKE, "fake", {"boxed"})
    assert names(defs) == {"boxed", "Box"}
    assert run_definitions(defs)["boxed"]("abcdef") == "abc"


def test_unused_definitions_and_imports_are_left_out() -> None:
    defs = collect_from_source(FAKE, "fake", {"boxed", "words"})
    assert "_UNUSED" not in names(defs) and "_other" not in names(defs)
    assert not any("decimal" in t for t in import_text(defs))


def test_unknown_root_is_an_error() -> None:
    with pytest.raises(KeyError):
        collect_from_source(FAKE, "fake", {"missing"})


def test_rename_changes_global_references_but_not_locals() -> None:
    defs = collect_from_source(FAKE, "fake", {"words", "shadow"})
    renamed = rename(defs, {"words": "words_fake", "re": "re_fake", "_UNUSED": "_UNUSED_fake"})
    namespace = run_definitions(renamed)
    assert "words" not in namespace and namespace["words_fake"]("a b") == "a b"
    assert "re_fake" in namespace and "re" not in namespace
    assert namespace["shadow"]("kept") == "kept"  # the parameter `re` is a local, not the module


def test_render_renames_names_that_clash_between_modules_or_with_the_script() -> None:
    from recast_engine.render.script import _resolve_conflicts

    first = collect_from_source("def _cell(r):\n    return r[0]\n\ndef upper(r):\n    return _cell(r).upper()\n",
                                "pkg.cells", {"upper"})
    second = collect_from_source("def _cell(r):\n    return r[-1]\n\ndef main(r):\n    return _cell(r)\n",
                                 "pkg.tables", {"main"})
    sections, emitted = _resolve_conflicts([first, second])
    assert emitted[("pkg.cells", "upper")] == "upper"
    assert emitted[("pkg.tables", "main")] == "main_tables"
    namespace = run_definitions(sections[0]) | run_definitions(sections[1])
    assert namespace["upper"](["ab", "cd"]) == "AB"
    assert namespace["main_tables"](["ab", "cd"]) == "cd"


def test_statement_sources_match_the_standard_segments_with_crlf_and_multibyte_text() -> None:
    source = (
        'import re\r\nWORD = "é" ; OTHER = 2\r\n\r\n'
        "@decorate(\"ü\")\r\ndef f(x):\r\n    return 'ñ' + x  # tail\r\n"
        "class K:\r    pass\rX = [\n  1,\n  'ß']"
    )
    statements = parse_module(source)
    tree = ast.parse(source)
    assert [s.source for s in statements if not s.node.__dict__.get("decorator_list")] == [
        ast.get_source_segment(source, n) for n in tree.body if not getattr(n, "decorator_list", None)
    ]
    decorated = next(s for s in statements if "f" in s.binds)
    assert decorated.source == "@decorate(\"ü\")\r\ndef f(x):\r\n    return 'ñ' + x  # tail"


def test_parsing_a_module_cuts_statements_from_its_lines_not_by_a_search_per_statement(monkeypatch) -> None:
    """ast.get_source_segment scans the source from the start for every statement (quadratic in the module's size);
    parse_module cuts each statement's text from lines split once, so it never needs it."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("get_source_segment is quadratic over a module")

    monkeypatch.setattr(ast, "get_source_segment", refuse)
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(2000))
    assert len(parse_module(body)) == 2000
