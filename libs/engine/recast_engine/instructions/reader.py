"""Read instructions as users write them into typed constraints (the grammar is in the package docstring)."""
from __future__ import annotations

import re

from recast_engine.instructions.formula import FormulaError, columns_of, parse_formula, to_text
from recast_engine.instructions.model import (
    Aggregate,
    Case,
    ColumnAction,
    ColumnRule,
    ColumnStatement,
    DateFormat,
    Dedupe,
    Drop,
    FillColumn,
    FillEmpty,
    Filter,
    Formula,
    Instructions,
    Mapping,
    Rename,
    Round,
    Same,
    Sort,
    TableAction,
    Trim,
)

_I = re.IGNORECASE

_SAME = re.compile(
    r"(?:same(?: as (?:the )?input)?|keep(?: it)?(?: as (?:it )?is)?|as is|unchanged|no changes?|leave(?: it)?"
    r"(?: as (?:it )?is| unchanged| alone)?|copy(?: it)?(?: as is)?|do not change|don'?t change(?: it)?|none|n/?a)",
    _I,
)
_RENAME = re.compile(r"(?:rename(?: it| the column| column)?|call it|name it|header)\s+(?:to|as|:)?\s*(?P<to>.+)", _I)
_DROP = re.compile(
    r"(?:drop|remove|delete|exclude|omit|discard|skip|hide)(?: (?:it|this column|the column|column))?"
    r"|not needed|(?:do not|don'?t) (?:include|output)(?: it)?",
    _I,
)
_CASE_WORDS = {
    "upper": r"upper ?case|uppercase|upper|all caps|all capitals|capitals|caps|capital letters",
    "lower": r"lower ?case|lowercase|lower|small letters",
    "title": r"title ?case|proper ?case|capitali[sz]e(?: each word| every word| the first letter of each word)?",
}
_CASE = {
    mode: re.compile(
        rf"(?:(?:convert|change|make|put|set|transform|format|turn|write)(?: it| (?:the )?values?| text)?"
        rf"(?: (?:to|into|in|as))? )?(?:all )?(?:{words})(?: letters| text)?",
        _I,
    )
    for mode, words in _CASE_WORDS.items()
}
_TRIM = re.compile(
    r"trim(?:med)?(?: (?:white ?space|spaces|blanks))?|strip(?: (?:white ?space|spaces|blanks))?"
    r"|remove (?:leading and trailing |extra |surrounding )?(?:white ?space|spaces|blanks)",
    _I,
)
_ROUND_NUMBERS = {"zero": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_ROUND = re.compile(
    r"(?:round(?:ed)?(?: it| (?:the )?values?)?(?: (?:to|at|with))? )?(?P<n>\d+|zero|no|one|two|three|four|five|six)"
    r" ?(?:decimals?|decimal places?|places?|dp|digits? after the (?:decimal )?point)",
    _I,
)
_ROUND_WHOLE = re.compile(
    r"round(?:ed)?(?: (?:it|values?))?(?: (?:to|off to))?(?: the)? (?:nearest )?(?:whole number|integer|unit)s?|round",
    _I,
)
_DATE_PREFIX = (
    r"(?:(?:re)?format(?:ted)?|convert(?:ed)?|change|write|show|display|output|as|to|in|the|date|dates|format|"
    r"using|like|:|\s)*"
)
_DATE_TOKEN = re.compile(r"Month|Mon|YYYY|YY|MMMM|MMM|MM|M|DD|D", _I)
_DATE_WRITTEN = re.compile(
    r"(?P<fmt>(?:YYYY|YY|MM|M|DD|D)(?:[-/. ](?:YYYY|YY|MM|M|DD|D)){2}"
    r"|(?:Month|MMMM|Mon|MMM) D{1,2},? (?:YYYY|YY)|D{1,2} (?:Month|MMMM|Mon|MMM),? (?:YYYY|YY))",
    _I,
)
# Date tokens as users write them -> date_part fields (runtime.cells.date_part)
_DATE_FIELDS = {"YYYY": "yyyy", "YY": "yy", "MMMM": "MMMM", "MONTH": "MMMM", "MMM": "MMM", "MON": "MMM", "MM": "MM",
                "M": "M", "DD": "dd", "D": "d"}
_FILL = re.compile(
    r"(?:fill|replace)(?: (?:the )?(?:empty|blank|missing|null)(?: (?:values?|cells?|ones))?)?(?: (?:with|by))"
    r" (?P<value>.+)"
    r"|(?:if|when) (?:it is |it's |the value is )?(?:empty|blank|missing|null),? (?:use|put|write|set(?: it)? to)"
    r" (?P<value2>.+)"
    r"|default(?: value)?(?: (?:to|is|=|:))? (?P<value3>.+)"
    r"|(?:empty|blank|missing)(?: values?| cells?)? (?:becomes?|->|=>|=|:|to) (?P<value4>.+)",
    _I,
)
_MAP_PREFIX = re.compile(r"(?:map(?:ping)?|replace|translate|recode|convert|change|codes?)\s*:?\s+", _I)
_PAIR = re.compile(r"\s*(?P<a>[^=:,;>]+?)\s*(?:=>|->|→|=|:| to | with | becomes )\s*(?P<b>[^,;]*?)\s*$", _I)
_FORMULA_WORDS = [
    (re.compile(r"\bmultiply (.+?) by (.+)", _I), r"\1 * \2"),
    (re.compile(r"\bdivide (.+?) by (.+)", _I), r"\1 / \2"),
    (re.compile(r"\badd (.+?) (?:and|to) (.+)", _I), r"\1 + \2"),
    (re.compile(r"\bsubtract (.+?) from (.+)", _I), r"\2 - \1"),
    (re.compile(r"\s+(?:times|multiplied by|x)\s+", _I), " * "),
    (re.compile(r"\s+(?:divided by|over)\s+", _I), " / "),
    (re.compile(r"\s+plus\s+", _I), " + "),
    (re.compile(r"\s+minus\s+", _I), " - "),
]
_FORMULA_PREFIX = re.compile(
    r"^(?:=|(?:compute|calculate|computed as|calculated as|equals|is|formula|value is|set to|the product of)\s*:?\s*)",
    _I,
)


def _strip_quotes(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1]
    return text


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().rstrip(".!").strip())


def _date_pattern(written: str) -> str:
    return _DATE_TOKEN.sub(lambda m: "{" + _DATE_FIELDS[m.group(0).upper()] + "}", written)


def _column_action(clause: str) -> ColumnAction | None:
    """One clause of a column instruction, or None when it cannot be read."""
    text = _clean(clause)
    if not text or _SAME.fullmatch(text):
        return Same()
    if _DROP.fullmatch(text):
        return Drop()
    for mode, pattern in _CASE.items():
        if pattern.fullmatch(text):
            return Case(mode=mode)
    if _TRIM.fullmatch(text):
        return Trim()
    date = _DATE_WRITTEN.search(text)
    if date and re.fullmatch(_DATE_PREFIX, text[: date.start()], _I) and not text[date.end():].strip(" ."):
        written = date.group("fmt")
        return DateFormat(written=written, pattern=_date_pattern(written))
    if match := _ROUND.fullmatch(text):
        n = match.group("n").lower()
        return Round(decimals=int(n) if n.isdigit() else _ROUND_NUMBERS[n])
    if _ROUND_WHOLE.fullmatch(text):
        return Round(decimals=0)
    if match := _FILL.fullmatch(text):
        value = next(v for v in match.groups() if v is not None)
        return FillEmpty(value=_strip_quotes(value))
    if match := _RENAME.fullmatch(text):
        return Rename(to=_strip_quotes(match.group("to")))
    formula = read_formula(text)
    if formula is not None:
        return formula
    return read_mapping(text)


def read_formula(text: str) -> Formula | None:
    body = _FORMULA_PREFIX.sub("", text.strip()).strip()
    for pattern, replacement in _FORMULA_WORDS:
        body = pattern.sub(replacement, body)
    try:
        node = parse_formula(body)
    except FormulaError:
        return None
    return Formula(expression=to_text(node), columns=columns_of(node))


def read_mapping(text: str) -> Mapping | None:
    """`map A=Alpha, B=Beta` (also `A -> Alpha`, `A: Alpha`, `replace A with Alpha`); at least one pair."""
    body = _MAP_PREFIX.sub("", text.strip(), count=1) if _MAP_PREFIX.match(text.strip()) else text.strip()
    pairs = [p for p in re.split(r"[,;]| and ", body) if p.strip()]
    table: dict[str, str] = {}
    for pair in pairs:
        match = _PAIR.fullmatch(pair)
        if not match:
            return None
        table[_strip_quotes(match.group("a"))] = _strip_quotes(match.group("b"))
    if not table or (len(table) == 1 and not _MAP_PREFIX.match(text.strip())
                     and not re.search(r"=|->|→|=>", text)):
        return None  # "x: y" alone is too loose to be a mapping
    return Mapping(table=table)


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r";|\n|,? then |,? and then | and also ", text, flags=_I) if c.strip()]


def read_column_instruction(column: str, text: str | None) -> tuple[ColumnRule, list[str]]:
    """The rule for one column instruction, and the clauses that could not be read (quoted with the column)."""
    text = (text or "").strip()
    rule = ColumnRule(column=column, text=text or "SAME AS INPUT")
    whole = _column_action(text)
    if whole is not None:
        rule.actions.append(whole)
        return rule, []
    unread: list[str] = []
    for clause in _clauses(text):
        parts = [clause]
        if _column_action(clause) is None and re.search(r" and |, ", clause, _I):
            parts = [p for p in re.split(r" and |, ", clause, flags=_I) if p.strip()]
        for part in parts:
            action = _column_action(part)
            if action is None:
                unread.append(f"{column}: {_clean(part)!r}")
            else:
                rule.actions.append(action)
    return rule, unread


# --- general instructions ------------------------------------------------------------------------------------------

_VALUE = r"(?P<value>.+?)"
_COLUMN = r"(?P<column>`[^`]+`|\"[^\"]+\"|'[^']+'|[\w.\-]+(?: [\w.\-]+){0,3}?)"
_COMPARE_WORDS: list[tuple[str, str]] = [
    (r"is greater than or equal to|is at least|>=|≥|is not less than", "ge"),
    (r"is less than or equal to|is at most|<=|≤|is not more than", "le"),
    (r"is greater than|is more than|is over|is above|exceeds|is bigger than|is larger than|greater than|more than|"
     r"over|above|>", "gt"),
    (r"is less than|is under|is below|is smaller than|less than|under|below|<", "lt"),
    (r"is not|isn't|is different from|does not equal|doesn't equal|not equal to|!=|<>|≠", "ne"),
    (r"contains|includes|has", "contains"),
    (r"is equal to|equals|is|==|=|:", "eq"),
]
_CONDITION = [
    (re.compile(rf"{_COLUMN}\s*(?:{words})\s*{_VALUE}", _I), op) for words, op in _COMPARE_WORDS
]
_EMPTY_WORDS = re.compile(r"empty|blank|missing|null|none", _I)
_KEEP = re.compile(
    r"(?:(?:please )?(?:keep|include|select|show|return|output|retain|use)(?: only)?(?: the)?"
    r"(?: rows?| records?| lines?)"
    r"|only(?: keep)?(?: the)?(?: rows?| records?| lines?)?|filter(?: the)?(?: rows?)?(?: to)?(?: rows?)?)"
    r"\s+(?:where|whose|with|if|when|that have|having|in which|for which)\s+(?P<cond>.+)",
    _I,
)
_REMOVE = re.compile(
    r"(?:remove|drop|delete|exclude|filter out|skip|discard|ignore|omit)(?: all| the| any)?(?: rows?| records?|"
    r" lines?)\s+(?:where|whose|with|if|when|that have|having|in which|for which)\s+(?P<cond>.+)",
    _I,
)
_WHERE = re.compile(r"(?:where|only where|only if|if)\s+(?P<cond>.+)", _I)
_SORT = re.compile(
    r"(?:sort|order|sorted|ordered|arrange|rank)(?: the)?(?: rows?| records?| output| table| it| them| results?)?"
    r"(?: by| on| using)\s+(?P<column>.+?)"
    r"(?:,?\s*(?:in\s+)?(?P<dir>descending|desc|decreasing|reverse|largest first|highest first|biggest first|"
    r"newest first|latest first|most recent first|z-a|z to a|high to low|ascending|asc|increasing|a-z|a to z|"
    r"smallest first|lowest first|oldest first|earliest first|low to high)(?: order)?)?",
    _I,
)
_DESCENDING = re.compile(r"desc|decreasing|reverse|largest|highest|biggest|newest|latest|recent|z-a|z to a|high to",
                         _I)
_DEDUPE = re.compile(
    r"(?:remove|drop|delete|eliminate|get rid of|discard|exclude)(?: the| any| all)?(?: exact)? duplicates?"
    r"(?: rows?| records?| lines?| entries)?|dedupe|de-?duplicate(?: the)?(?: rows?)?|(?:keep )?(?:only )?unique rows"
    r"(?: only)?|no duplicates?(?: rows?)?",
    _I,
)
_FILL_COLUMN = [
    re.compile(
        r"(?:fill|replace)(?: the)?(?: (?:empty|blank|missing|null)(?: values?| cells?)?)? (?:in |of |for )?"
        rf"{_COLUMN}(?: (?:values?|cells?|column))?(?: (?:when|if|that are) (?:empty|blank|missing))? (?:with|by)"
        rf" {_VALUE}",
        _I,
    ),
    re.compile(rf"(?:where|when|if) {_COLUMN} is (?:empty|blank|missing),? (?:use|put|write|set it to) {_VALUE}", _I),
]
_AGGREGATE_WORDS = {
    "sum": r"sum|total|sum up|add up",
    "count": r"count|number|how many",
    "average": r"average|mean|avg",
    "min": r"min|minimum|smallest|lowest",
    "max": r"max|maximum|largest|highest",
}
_AGGREGATE = re.compile(
    r"(?:(?:compute|calculate|show|give|return|get)(?: the)? )?(?P<fn>"
    + "|".join(_AGGREGATE_WORDS.values())
    + r")(?: of)?(?: the)?(?: (?P<column>.+?))?\s+(?:per|by|for each|for every|grouped by|group(?:ed)? by|in each)\s+"
    r"(?P<by>.+)",
    _I,
)
_RENAME_STATEMENT = re.compile(rf"rename(?: (?:the )?column)? {_COLUMN} (?:to|as|into) {_VALUE}", _I)
_DROP_STATEMENT = re.compile(
    rf"(?:drop|remove|delete|exclude|omit)(?: the)? (?:columns?|fields?) {_VALUE}"
    rf"|(?:drop|remove|delete|exclude|omit)(?: the)? {_COLUMN} column",
    _I,
)
_CASE_STATEMENT = re.compile(
    r"(?:convert|change|make|put|transform|turn|write)(?: the)? (?:column |values? (?:of|in) )?"
    rf"{_COLUMN}(?: column| values?)?(?: (?:to|into|in|as))? (?P<words>[a-z ]+?)",
    _I,
)


def _name(text: str) -> str:
    return _strip_quotes(text.strip())


def read_condition(text: str) -> tuple[str, str, str] | None:
    """`status is paid`, `amount > 100`, `region is not empty` as (column, op, value)."""
    text = _clean(text)
    for pattern, op in _CONDITION:
        match = pattern.fullmatch(text)
        if not match:
            continue
        column, value = _name(match.group("column")), _strip_quotes(match.group("value"))
        if op in ("eq", "ne") and _EMPTY_WORDS.fullmatch(value):
            value = ""
        if op in ("gt", "ge", "lt", "le") and not re.fullmatch(r"-?[\d,]*\.?\d+", value.replace("$", "")):
            continue
        if op in ("gt", "ge", "lt", "le"):
            value = value.replace("$", "").replace(",", "")
        return column, op, value
    return None


def _by_columns(text: str) -> list[str]:
    return [_name(p) for p in re.split(r",| and ", _clean(text), flags=_I) if p.strip()]


def _aggregate_function(word: str) -> str:
    return next(fn for fn, words in _AGGREGATE_WORDS.items() if re.fullmatch(words, word, _I))


def _table_action(sentence: str) -> TableAction | None:
    text = _clean(sentence)
    if _DEDUPE.fullmatch(text):
        return Dedupe()
    for pattern, keep in ((_KEEP, True), (_REMOVE, False), (_WHERE, True)):
        if (match := pattern.fullmatch(text)) and (condition := read_condition(match.group("cond"))):
            return Filter(column=condition[0], op=condition[1], value=condition[2], keep=keep)
    if match := _SORT.fullmatch(text):
        descending = bool(match.group("dir") and _DESCENDING.search(match.group("dir")))
        return Sort(column=_name(match.group("column")), descending=descending)
    for pattern in _FILL_COLUMN:
        if match := pattern.fullmatch(text):
            return FillColumn(column=_name(match.group("column")), value=_strip_quotes(match.group("value")))
    if match := _AGGREGATE.fullmatch(text):
        column = match.group("column")
        if column and re.fullmatch(r"(?:the )?(?:rows?|records?|lines?|entries|items)", column, _I):
            column = None
        return Aggregate(function=_aggregate_function(match.group("fn")),
                         column=_name(column) if column else None, by=_by_columns(match.group("by")))
    if match := _RENAME_STATEMENT.fullmatch(text):
        return ColumnStatement(rule=ColumnRule(column=_name(match.group("column")), text=text,
                                               actions=[Rename(to=_strip_quotes(match.group("value")))]))
    if match := _DROP_STATEMENT.fullmatch(text):
        names = match.group("value") or match.group("column")
        columns = _by_columns(names)
        if len(columns) == 1:
            return ColumnStatement(rule=ColumnRule(column=columns[0], text=text, actions=[Drop()]))
    if match := _CASE_STATEMENT.fullmatch(text):
        action = _column_action(match.group("words"))
        if isinstance(action, (Case, Trim, DateFormat, Round)):
            return ColumnStatement(rule=ColumnRule(column=_name(match.group("column")), text=text, actions=[action]))
    if condition := read_condition(text):
        if condition[1] in ("gt", "ge", "lt", "le"):  # a bare comparison is a filter ("amount > 100")
            return Filter(column=condition[0], op=condition[1], value=condition[2])
    return None


def _sentences(text: str) -> list[str]:
    # a period ends a sentence unless it sits between digits (1.5) or inside quotes
    parts = re.split(r"(?<!\d)\.(?!\d)|\.(?=\s)|;|\n|,? and then |,? then ", text, flags=_I)
    return [p.strip() for p in parts if p and p.strip(" -*•\t")]


def read_general_instructions(text: str | None) -> tuple[list[TableAction], list[str]]:
    actions: list[TableAction] = []
    unread: list[str] = []
    for sentence in _sentences(text or ""):
        sentence = sentence.strip(" -*•\t")
        action = _table_action(sentence)
        if action is not None:
            actions.append(action)
            continue
        halves = [h for h in re.split(r",? and |, ", sentence, flags=_I) if h.strip()]
        read = [_table_action(h) for h in halves] if len(halves) > 1 else [None]
        if all(a is not None for a in read):
            actions.extend(a for a in read if a is not None)
        else:
            unread.append(_clean(sentence))
    return actions, unread


def read_instructions(
    general_instructions: str | None = None, column_instructions: dict[str, str | None] | None = None
) -> Instructions:
    """Read both instruction fields of a job. Pure and deterministic: the same text always reads the same."""
    table, unread = read_general_instructions(general_instructions)
    result = Instructions(table=table, not_understood=unread)
    for column, text in (column_instructions or {}).items():
        rule, unread_clauses = read_column_instruction(column, text)
        result.columns.append(rule)
        result.not_understood.extend(unread_clauses)
    return result
