"""Instructions shape the by-example search: they pin what the example leaves open and the example checks them."""
from __future__ import annotations

from recast_engine.dsl.interpret import run
from recast_engine.instructions import read_instructions
from recast_engine.instructions.guide import guided_learn
from recast_engine.synthesis.search import learn


def grid(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.strip().splitlines()]


def best(result):
    return result.search.programs[0]


def test_an_uppercase_instruction_forces_the_case_even_when_the_examples_are_upper_case():
    pair = grid("id,code\n1,AB\n2,CD"), grid("id,code\n1,AB\n2,CD")
    guided = guided_learn(*pair, read_instructions(None, {"code": "uppercase"}), timeout=5)
    assert run(best(guided), grid("id,code\n3,xy")) == [["id", "code"], ["3", "XY"]]
    assert run(learn(*pair, timeout=5).programs[0], grid("id,code\n3,xy")) == [["id", "code"], ["3", "xy"]]
    assert guided.applied == ["column code: uppercase"] and guided.contradictions == []
    assert guided.search.confidence == "trusted"


def test_same_as_input_pins_a_copy_of_the_column():
    pair = grid("k,v\n1,a\n2,b"), grid("k,v\n1,a\n2,b")
    guided = guided_learn(*pair, read_instructions(None, {"v": "", "k": "SAME AS INPUT"}), timeout=5)
    assert [c.value.op for c in best(guided).columns] == ["col", "col"]


def test_a_filter_instruction_is_the_first_step_and_the_search_explains_the_rest():
    source = grid("id,region,amount\n1,North,150\n2,South,20\n3,North,300\n4,South,50")
    expected = grid("region,id\nNorth,1\nNorth,3")
    guided = guided_learn(source, expected, read_instructions("keep only rows where amount > 100", None), timeout=10)
    program = best(guided)
    assert program.steps[0].op == "keep_rows_where"
    assert run(program, grid("id,region,amount\n6,North,10\n7,South,500")) == [["region", "id"], ["South", "7"]]


def test_a_formula_becomes_the_column_program_when_the_example_agrees():
    source, expected = grid("city,temp_f\nA,212\nB,32\nC,50"), grid("city,temp_c\nA,100\nB,0\nC,10")
    guided = guided_learn(source, expected, read_instructions(None, {"temp_c": "(temp_f - 32) * 5 / 9"}), timeout=5)
    assert run(best(guided), grid("city,temp_f\nD,98.6")) == [["city", "temp_c"], ["D", "37"]]


def test_where_the_example_contradicts_an_instruction_the_example_wins_and_the_rows_are_named():
    source, expected = grid("id,code\n1,ab\n2,cd\n3,ef"), grid("id,code\n1,ab\n2,CD\n3,EF")
    guided = guided_learn(source, expected, read_instructions(None, {"code": "uppercase"}), timeout=5)
    assert guided.contradictions == [
        "column code: the instruction 'uppercase' disagrees with the example in row 2 (the example was followed)"
    ]
    assert all(run(p, source) == expected for p in guided.search.programs)


def test_a_filter_that_leaves_other_rows_than_the_example_is_a_contradiction():
    keep_a = read_instructions("keep rows where s is a", None)
    fewer = guided_learn(grid("id,s\n1,a\n2,a\n3,b"), grid("id,s\n1,a\n2,a\n3,a"), keep_a, timeout=5)
    assert fewer.contradictions == [
        "the instructions (keep only rows where s is 'a') leave 2 rows, the example has 3 (the example was followed)"
    ]
    removed = guided_learn(grid("id,s\n1,a\n2,b\n3,a\n4,c"), grid("id,s\n1,a\n2,b"), keep_a, timeout=5)
    assert removed.contradictions == [
        "the instruction (keep only rows where s is 'a') would remove row 3 of the example (the example was followed)"
    ]


def test_an_excluded_instruction_program_falls_back_to_the_search():
    pair = grid("id,code\n1,AB\n2,CD"), grid("id,code\n1,AB\n2,CD")
    instructions = read_instructions(None, {"code": "uppercase"})
    first = best(guided_learn(*pair, instructions, timeout=5))
    second = guided_learn(*pair, instructions, timeout=5, exclude=frozenset({first.fingerprint()}))
    assert all(p.fingerprint() != first.fingerprint() for p in second.search.programs)


def test_the_search_explains_only_the_columns_no_instruction_pinned_and_judges_them_alone():
    source = grid("id,grade,name\n1,A,ann\n2,B,bob\n3,A,cy\n4,B,dee")
    expected = grid("id,grade,name\n1,Alpha,ANN\n2,Beta,BOB\n3,Alpha,CY\n4,Beta,DEE")
    guided = guided_learn(source, expected, read_instructions(None, {"grade": "map A=Alpha, B=Beta"}), timeout=10)
    assert guided.search.confidence == "trusted"
    assert run(best(guided), grid("id,grade,name\n5,C,eve")) == [["id", "grade", "name"], ["5", "C", "EVE"]]


def test_a_threshold_the_example_leaves_open_is_ambiguous_until_an_instruction_names_it():
    source = grid("id,total\n1,92.40\n2,104.99\n3,250.00\n4,72.10\n5,130.00")
    expected = grid("id,total\n2,104.99\n3,250.00\n5,130.00")
    alone = learn(source, expected, header="yes", timeout=10)
    assert alone.confidence == "ambiguous" and "between 92.40 and 104.99" in alone.reason
    guided = guided_learn(source, expected, read_instructions("keep only rows where total >= 100", None), timeout=10)
    assert guided.search.confidence == "trusted"
    assert run(best(guided), grid("id,total\n6,99.00\n7,100.00")) == [["id", "total"], ["7", "100.00"]]
