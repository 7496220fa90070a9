"""Bad input to the engine raises ValueError, with a message that names what is wrong."""

import re

import numpy as np
import pytest
from conftest import Sizes, build_problem, spec_shape

from bpttlab.derivations import HEADS, LOSS_AT
from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.numeric import build_engine

T, N, D, H, K = SIZES = Sizes(4, 3, 3, 4, 3)




def problem(cell, head="softmax", loss_at="every"):
    """This module's problem: parameters uniform in ±0.5, standard normal initial states."""
    return build_problem(cell, head, loss_at, sizes=SIZES, scale=0.5, state_scale=1.0)


def shape_pattern(shape):
    """The expected shape as a message prints it: "(4, 4)", and "(4,)" or "(4)" for a 1-D shape."""
    if len(shape) == 1:
        return rf"\({shape[0]},?\)"
    return re.escape(str(shape))


def test_valid_problem_is_accepted():
    """The baseline every other test breaks in one place."""
    for cell in CELLS:
        for head in HEADS:
            params, xs, targets, states = problem(cell, head)
            loss, grads = build_engine(cell, head=head).loss_and_grads(params, xs, targets, **states)
            assert np.isfinite(loss) and loss > 0
            assert grads["W_hy"].shape == (K, H)


# ----------------------------------------------------------------- parameters
@pytest.mark.parametrize("cell", CELLS)
def test_wrong_parameter_shape_names_the_parameter_and_the_expected_shape(cell):
    engine = build_engine(cell, head="softmax")
    params, xs, targets, states = problem(cell)
    for name, value in params.items():
        shape = value.shape
        wrong_shape = (shape[0], shape[1] + 1) if len(shape) == 2 else (shape[0] + 1,)
        bad = {**params, name: np.zeros(wrong_shape)}
        expected = shape_pattern(spec_shape(name, D, H, K))
        for call in (lambda p: engine.loss_and_grads(p, xs, targets, **states),
                     lambda p: engine.forward(p, xs, **states)):
            with pytest.raises(ValueError) as info:
                call(bad)
            message = str(info.value)
            assert re.search(rf"\b{name}\b", message), (name, message)
            assert re.search(expected, message), (name, expected, message)


def test_recurrent_weight_shape_message_matches_the_example():
    params, xs, targets, states = problem("rnn")
    params["W_hh"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"W_hh.*\(4, 4\)"):
        build_engine("rnn", head="softmax").loss_and_grads(params, xs, targets, **states)


def test_wrong_number_of_rows_in_the_first_input_weight_is_blamed_on_it():
    # Every other parameter (W_hh, b_h, W_hy, h0) says H = 4; only W_xh has 5 rows.
    params, xs, targets, states = problem("rnn")
    params["W_xh"] = np.zeros((5, D))
    with pytest.raises(ValueError) as info:
        build_engine("rnn", head="softmax").loss_and_grads(params, xs, targets, **states)
    assert "W_xh" in str(info.value), str(info.value)


@pytest.mark.parametrize("cell", CELLS)
def test_missing_parameter_is_named(cell):
    engine = build_engine(cell, head="linear")
    params, xs, targets, states = problem(cell, "linear")
    for name in params:
        bad = {k: v for k, v in params.items() if k != name}
        with pytest.raises(ValueError, match=rf"\b{name}\b"):
            engine.loss_and_grads(bad, xs, targets, **states)
        with pytest.raises(ValueError, match=rf"\b{name}\b"):
            engine.forward(bad, xs, **states)


@pytest.mark.parametrize("cell", CELLS)
def test_extra_parameter_is_named(cell):
    params, xs, targets, states = problem(cell)
    bad = {**params, "W_typo": np.zeros((H, H))}
    with pytest.raises(ValueError, match="W_typo"):
        build_engine(cell, head="softmax").loss_and_grads(bad, xs, targets, **states)


def test_head_parameters_are_extra_for_a_bare_cell():
    params, xs, _, states = problem("rnn")
    with pytest.raises(ValueError, match="W_hy"):
        build_engine("rnn").forward(params, xs, **states)


def test_b_hn_is_extra_for_the_course_gru():
    params, xs, targets, states = problem("gru")
    with pytest.raises(ValueError, match="b_hn"):
        build_engine("gru", head="softmax").loss_and_grads({**params, "b_hn": np.zeros(H)}, xs, targets,
                                                           **states)


@pytest.mark.parametrize("bad", [[1, 2, 3], None, "W_xh"])
def test_params_must_be_a_dict(bad):
    _, xs, targets, _ = problem("rnn")
    with pytest.raises(ValueError, match="params"):
        build_engine("rnn", head="softmax").loss_and_grads(bad, xs, targets)


# ----------------------------------------------------------------- xs
@pytest.mark.parametrize("shape", [(T * N, D), (T, N, D, 1), (T * N * D,)])
def test_xs_of_wrong_rank(shape):
    params, xs, targets, states = problem("lstm")
    engine = build_engine("lstm", head="softmax")
    with pytest.raises(ValueError, match=r"\bxs\b"):
        engine.loss_and_grads(params, xs.reshape(shape), targets, **states)
    with pytest.raises(ValueError, match=r"\bxs\b"):
        engine.forward(params, xs.reshape(shape), **states)


def test_empty_sequence():
    params, xs, targets, states = problem("rnn")
    with pytest.raises(ValueError, match=r"\bxs\b"):
        build_engine("rnn", head="softmax").loss_and_grads(params, xs[:0], targets[:0], **states)


def test_xs_with_the_wrong_number_of_features():
    params, xs, targets, states = problem("gru")
    with pytest.raises(ValueError, match=r"\bxs\b|W_x"):
        build_engine("gru", head="softmax").loss_and_grads(params, xs[:, :, :2], targets, **states)


def test_xs_must_be_numeric():
    params, xs, targets, states = problem("rnn")
    with pytest.raises(ValueError, match=r"\bxs\b"):
        build_engine("rnn", head="softmax").loss_and_grads(params, xs.astype(str), targets, **states)


# ----------------------------------------------------------------- initial states
@pytest.mark.parametrize(("where", "pattern"), [
    ("xs", r"^xs is float32 but parameter W_xi is float64"),
    ("W_hi", r"^xs is float64 but parameter W_hi is float32"),
    ("h0", r"^xs is float64 but h0 is float32"),
])
def test_mixed_float_dtypes_are_refused_in_one_line(where, pattern):
    """Issue 21, point 4: a float32 xs with float64 parameters used to compute silently in float32. The
    float32/float64 arrays among xs, the parameters and the initial states must agree; lists and
    integer arrays take their dtype, and float targets are converted to it."""
    params, xs, targets, states = problem("lstm", "linear")
    arrays = {**params, "xs": xs, **states}
    arrays[where] = arrays[where].astype(np.float32)
    engine = build_engine("lstm", head="linear")
    for call in (lambda: engine.forward({n: arrays[n] for n in params}, arrays["xs"], arrays["h0"]),
                 lambda: engine.loss_and_grads({n: arrays[n] for n in params}, arrays["xs"], targets,
                                               arrays["h0"])):
        with pytest.raises(ValueError, match=pattern) as error:
            call()
        assert "give xs, the parameters and the initial states one float dtype" in str(error.value)
        assert "\n" not in str(error.value)
    as32 = {name: value.astype(np.float32) for name, value in params.items()}
    _, grads = engine.loss_and_grads(as32, xs.tolist(), targets, states["h0"].tolist(),
                                     states["c0"].astype(np.float32))
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("cell", CELLS)
def test_h0_batch_differs_from_xs_batch(cell):
    params, xs, targets, states = problem(cell)
    engine = build_engine(cell, head="softmax")
    bad = {**states, "h0": np.zeros((N + 1, H))}
    with pytest.raises(ValueError, match=r"h0.*\(3, 4\)"):
        engine.loss_and_grads(params, xs, targets, **bad)
    with pytest.raises(ValueError, match=r"\bh0\b"):
        engine.forward(params, xs, **bad)


@pytest.mark.parametrize("shape", [(N, H + 1), (H,), (1, N, H)])
def test_h0_of_wrong_shape(shape):
    params, xs, targets, _ = problem("rnn")
    with pytest.raises(ValueError, match=r"\bh0\b"):
        build_engine("rnn", head="softmax").loss_and_grads(params, xs, targets, h0=np.zeros(shape))


def test_c0_batch_differs_from_xs_batch():
    params, xs, targets, states = problem("lstm")
    with pytest.raises(ValueError, match=r"\bc0\b"):
        build_engine("lstm", head="softmax").loss_and_grads(params, xs, targets, h0=states["h0"],
                                                            c0=np.zeros((N - 1, H)))


@pytest.mark.parametrize("cell", ["rnn", "gru", "gru_torch"])
def test_c0_is_only_for_the_lstm(cell):
    params, xs, targets, states = problem(cell)
    with pytest.raises(ValueError, match=r"\bc0\b"):
        build_engine(cell, head="softmax").loss_and_grads(params, xs, targets, c0=np.zeros((N, H)), **states)


# ----------------------------------------------------------------- NaN and Inf
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["xs", "h0", "c0", "W_hf", "b_y", "targets"])
def test_nan_or_inf_is_rejected_and_located(where, value):
    params, xs, targets, states = problem("lstm", head="sigmoid")
    arrays = {**params, "xs": xs, "targets": targets, **states}
    arrays[where] = arrays[where].copy()
    arrays[where].flat[1] = value
    params = {k: arrays[k] for k in params}
    engine = build_engine("lstm", head="sigmoid")
    with pytest.raises(ValueError, match="NaN") as info:
        engine.loss_and_grads(params, arrays["xs"], arrays["targets"], h0=arrays["h0"], c0=arrays["c0"])
    assert re.search(rf"\b{where}\b", str(info.value)), str(info.value)


# ----------------------------------------------------------------- targets
@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("bad", [K, K + 5, -1])
def test_class_targets_out_of_range(bad, loss_at):
    params, xs, targets, states = problem("gru_torch", loss_at=loss_at)
    targets = targets.copy()
    targets.flat[0] = bad
    with pytest.raises(ValueError, match="targets"):
        engine = build_engine("gru_torch", head="softmax", loss_at=loss_at)
        engine.loss_and_grads(params, xs, targets, **states)


@pytest.mark.parametrize("loss_at", LOSS_AT)
def test_float_targets_for_softmax(loss_at):
    params, xs, targets, states = problem("rnn", loss_at=loss_at)
    engine = build_engine("rnn", head="softmax", loss_at=loss_at)
    for bad in (targets.astype(np.float64), targets.astype(np.float32), targets + 0.5):
        with pytest.raises(ValueError, match="targets"):
            engine.loss_and_grads(params, xs, bad, **states)


@pytest.mark.parametrize("head", HEADS)
def test_targets_batch_differs_from_xs_batch(head):
    params, xs, targets, states = problem("rnn", head=head)
    with pytest.raises(ValueError, match="targets"):
        build_engine("rnn", head=head).loss_and_grads(params, xs, targets[:, :-1], **states)


@pytest.mark.parametrize("head", HEADS)
def test_targets_for_every_step_given_to_a_last_step_loss(head):
    params, xs, targets, states = problem("rnn", head=head, loss_at="every")
    with pytest.raises(ValueError, match="targets"):
        build_engine("rnn", head=head, loss_at="last").loss_and_grads(params, xs, targets, **states)


@pytest.mark.parametrize("head", ["sigmoid", "linear"])
def test_float_targets_need_one_value_per_output(head):
    params, xs, targets, states = problem("rnn", head=head)
    engine = build_engine("rnn", head=head)
    with pytest.raises(ValueError, match="targets"):
        engine.loss_and_grads(params, xs, targets[..., :-1], **states)
    with pytest.raises(ValueError, match="targets"):  # class indices are not sigmoid or linear targets
        engine.loss_and_grads(params, xs, np.zeros((T, N), dtype=int), **states)


# ----------------------------------------------------------------- engines without a loss
@pytest.mark.parametrize("cell", CELLS)
def test_an_engine_without_a_head_has_no_loss(cell):
    params, xs, targets, states = problem(cell)
    cell_params = {k: v for k, v in params.items() if k not in ("W_hy", "b_y")}
    engine = build_engine(cell, head=None)
    assert engine.forward(cell_params, xs, **states).y is None
    with pytest.raises(ValueError, match="head"):
        engine.loss_and_grads(cell_params, xs, targets, **states)


@pytest.mark.parametrize("args, name", [(("cnn",), "cnn"), (("rnn", "tanh"), "tanh"),
                                        (("rnn", "softmax", "first"), "first")])
def test_unknown_cell_head_or_loss_placement(args, name):
    with pytest.raises(ValueError, match=name):
        build_engine(*args)


@pytest.mark.parametrize("sizes", [(0, 4, 3), (3, 0, 3), (3, 4, 0), (3, -1, 3), (3, 2.5, 3)])
def test_init_params_rejects_sizes_that_are_not_positive_integers(sizes):
    with pytest.raises(ValueError, match="positive integer"):
        build_engine("rnn", head="softmax").init_params(*sizes)
