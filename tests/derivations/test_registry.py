"""``Registry``, the one shape of every table: each of the five tables is one, and each behaves the
same way on registering, registering again, replacing, unregistering and looking up."""

from dataclasses import dataclass, replace

import pytest

from bpttlab.derivations import CELLS, HEADS
from bpttlab.derivations.activations import ACTIVATIONS
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.derivations.registry import Registry
from bpttlab.reports.sheets.languages import LANGUAGES

TABLES = {"cell": CELLS, "head": HEADS, "element-wise function": ACTIVATIONS, "notation": NOTATIONS,
          "language": LANGUAGES}


@dataclass(frozen=True)
class Colour:
    name: str
    hue: int = 0


def test_every_table_is_a_registry_of_its_kind():
    for kind, table in TABLES.items():
        assert isinstance(table, Registry) and table.kind == kind and len(table) == len(list(table)) > 0
        first = next(iter(table))
        assert getattr(table[first], table.key) == first  # each record is filed under its own name


def test_register_again_replace_unregister_and_look_up():
    colours = Registry("colour", Colour, described="a Colour")
    red = colours.register(Colour("red"))
    assert colours.register(Colour("red")) == red  # an equal record again: nothing changes
    with pytest.raises(ValueError, match=r"^colour 'red' is registered already; pass replace=True$"):
        colours.register(Colour("red", hue=1))
    assert colours.register(Colour("red", hue=1), replace=True).hue == colours.lookup("red").hue == 1
    with pytest.raises(ValueError, match=r"^colour: expected a Colour, got 'red'$"):
        colours.register("red")
    with pytest.raises(ValueError, match=r"^cannot register the colour '': its name is empty$"):
        colours.register(Colour(""))
    colours.unregister("red")
    colours.unregister("red")  # nothing left to remove: no error
    with pytest.raises(ValueError, match=r"^unknown colour 'red'; valid: $"):
        colours.lookup("red")
    with pytest.raises(TypeError):  # read-only as a mapping
        colours["blue"] = Colour("blue")  # type: ignore[index]


def test_a_check_and_a_protected_name_refuse_with_the_reason():
    colours = Registry("colour", Colour, described="a Colour", protected=lambda name: name == "black",
                       check=lambda c: None if c.hue >= 0 else "its hue is negative")
    colours.register(Colour("black"))
    with pytest.raises(ValueError, match=r"^cannot register the colour 'blue': its hue is negative$"):
        colours.register(Colour("blue", hue=-1))
    with pytest.raises(ValueError, match=r"^the colour 'black' is built in or shipped"):
        colours.unregister("black")
    assert "black" in colours


def test_an_activation_name_must_be_an_identifier():
    record = replace(ACTIVATIONS["tanh"], name="tan h")
    with pytest.raises(ValueError, match="its name is not an identifier"):
        ACTIVATIONS.register(record)
