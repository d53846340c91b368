"""Which mappings are bounded (``mapping_lang.cost``): the seed's is; a loop, a recursion, a
regular expression, a file read or a plugin's call is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import mapping_lang
from mapping_lang import library

REPO = Path(__file__).resolve().parents[2]


def test_the_seed_mapping_is_bounded():
    seed = yaml.safe_load((REPO / "examples" / "run_ai.yaml").read_text())
    mapping = mapping_lang.compile(seed["pipeline"]["processors"][0]["mapping"])
    assert mapping.bounded
    assert mapping.unbounded_calls == frozenset()


@pytest.mark.parametrize(
    ("source", "calls"),
    [
        ("root = range(0, 100000).map_each(i -> i * 2)", {"range()", ".map_each()"}),
        ("root = this.items.fold(0, t -> t.tally + t.value)", {".fold()"}),
        ('root = this.s.re_replace_all("a+", "b")', {".re_replace_all()"}),
        ('root = "ab".repeat(this.n)', {".repeat()"}),
        ('map f {\n  root = this\n}\nroot = this.apply("f")', {".apply()"}),
        ('root = file("/etc/hostname")', {"file()"}),
        ("root = if this.n > 1 { this.items.sort() } else { [] }", {".sort()"}),
    ],
)
def test_calls_that_can_run_for_long_make_a_mapping_unbounded(source: str, calls: set[str]):
    mapping = mapping_lang.compile(source)
    assert not mapping.bounded
    assert mapping.unbounded_calls == calls


def test_a_named_map_counts_where_it_is_applied(tmp_path: Path):
    # a map runs only through .apply(), which is itself unbounded: it may recurse
    (tmp_path / "lib.blobl").write_text("map doubled {\n  root = this.map_each(v -> v * 2)\n}\n")
    unused = mapping_lang.compile(
        'import "./lib.blobl"\nroot = this.without("x")', path=str(tmp_path / "a.blobl")
    )
    assert unused.bounded
    used = mapping_lang.compile(
        'import "./lib.blobl"\nroot = this.apply("doubled")', path=str(tmp_path / "a.blobl")
    )
    assert used.unbounded_calls == {".apply()"}


def test_a_plugin_that_takes_a_built_in_name_is_not_assumed_bounded():
    library.load_builtins()
    builtin = library.METHODS["uppercase"]
    replaced = set(library._REPLACED)

    @library.method("uppercase")
    def slow_uppercase(ctx: Any, target: Any) -> Any:
        return str(target).upper()

    try:
        assert not mapping_lang.compile("root = this.uppercase()").bounded
    finally:
        library.METHODS["uppercase"] = builtin
        library._REPLACED.clear()
        library._REPLACED.update(replaced)
    assert mapping_lang.compile("root = this.uppercase()").bounded
