import dataclasses
import json

import pytest
import sympy as sp
from conftest import BARS

from bpttlab.derivations import CELLS, HEADS, LOSS_AT, H, delta, derive
from bpttlab.derivations.symbols import vector
from bpttlab.numeric.engine import NumpyEngine
from bpttlab.numeric.verify import gradients as verify
from bpttlab.reports import cli


def test_every_check_passes_within_its_bar():
    results = verify.verify_gradients(cells=("rnn", "gru"), heads=("softmax", "linear"), loss_at=("last",))
    checks = {(r.cell, r.check) for r in results}
    assert ("rnn", "torch nn module") in checks and ("gru", "torch nn module") not in checks
    assert ("gru", "finite differences") in checks and ("gru", "torch autograd") in checks
    for r in results:
        assert r.max_rel <= BARS[r.check], r
        assert r.bar == BARS[r.check]


def test_every_registered_cell_passes_every_check_within_the_stated_bars():
    """verify_gradients' defaults: every registered cell × head × placement, every check it has."""
    results = verify.verify_gradients()
    assert {r.cell for r in results} == set(CELLS)
    with_module = {name for name, c in CELLS.items() if c.torch_module}
    assert {r.cell for r in results if r.check == "torch nn module"} == with_module
    assert len(results) == sum(len(verify.CHECKS) - (name not in with_module) for name in CELLS) \
        * len(HEADS) * len(LOSS_AT)
    bad = [(r.cell, r.head, r.loss_at, r.check, r.max_rel) for r in results
           if not (r.passed and r.max_rel <= BARS[r.check])]
    assert not bad


def test_a_wrong_engine_fails_every_check(monkeypatch):
    d = derive("rnn", "linear", "last")
    wrong = tuple(sp.Eq(eq.lhs, delta(vector("h_t", H)), evaluate=False) if eq.lhs.name == "δa_t" else eq
                  for eq in d.step_backward)
    engine = NumpyEngine(dataclasses.replace(d, step_backward=wrong))
    monkeypatch.setattr(verify, "build_engine", lambda *_args: engine)
    results = verify.verify_gradients(cells=("rnn",), heads=("linear",), loss_at=("last",))
    failed = {r.check for r in results if not r.passed}
    assert failed == {"finite differences", "torch autograd", "torch nn module"}


def test_json_output_and_exit_status(capsys):
    status = cli.main(["verify", "--cells", "lstm", "--heads", "sigmoid", "--loss-at", "every", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [r["check"] for r in rows] == ["finite differences", "torch autograd", "torch nn module"]
    assert all(r["passed"] and r["max_rel"] <= BARS[r["check"]] for r in rows)


@pytest.mark.parametrize("argv", [
    ["verify", "--cells", "elman"],
    ["verify", "--T", "0"],
    ["derive", "lstm", "--head", "relu"],
    ["frobnicate"],
])
def test_misuse_exits_2_with_one_message(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_unknown_names_in_the_api_are_value_errors():
    with pytest.raises(ValueError, match="rnn, lstm, gru, gru_torch"):
        verify.verify_gradients(cells=("elman",))


def test_derive_command_prints_textbook_backward(capsys):
    assert cli.main(["derive", "rnn", "--head", "linear"]) == 0
    out = capsys.readouterr().out
    assert "δa_t = δh_t ⊙ (1 - h_t²)" in out
    assert "δŷ_t = ŷ_t - y_t" in out
    assert "HadamardProduct" not in out
