"""Training on the engine: optimizer steps against hand-computed ones and torch.optim, clipping,
truncated BPTT through the training driver, determinism, and the course's hello model for every
registered cell and a custom one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bpttlab.derivations.cells import CELLS, custom_cell
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.training import (
    ADDING_BASELINE,
    SGD,
    Adam,
    AddingProblem,
    CharacterModel,
    CopyTask,
    clip_global_norm,
    gradients,
    initial_params,
    train,
)


def _random_tree(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=3)}


# ----------------------------------------------------------------- optimizers by hand
def test_sgd_momentum_by_hand():
    sgd = SGD(lr=0.5, momentum=0.9)
    params = {"w": np.array([1.0, 2.0])}
    state = sgd.init(params)
    params, state = sgd.update(params, {"w": np.array([1.0, -1.0])}, state)
    assert params["w"].tolist() == [0.5, 2.5]  # b = g
    params, state = sgd.update(params, {"w": np.array([1.0, 0.0])}, state)
    # b = 0.9·(1, −1) + (1, 0) = (1.9, −0.9); w = (0.5, 2.5) − 0.5·b
    np.testing.assert_allclose(params["w"], [0.5 - 0.95, 2.5 + 0.45], rtol=0, atol=1e-15)
    assert state.step == 2


def test_adam_two_steps_by_hand():
    adam = Adam(lr=0.1, betas=(0.5, 0.75), eps=0.0)
    params = {"w": np.array([1.0])}
    state = adam.init(params)
    params, state = adam.update(params, {"w": np.array([2.0])}, state)
    # m = 1, v = 1, m̂ = 1/0.5 = 2, v̂ = 1/0.25 = 4: w = 1 − 0.1·2/2 = 0.9
    assert params["w"][0] == pytest.approx(0.9, abs=1e-15)
    params, state = adam.update(params, {"w": np.array([-2.0])}, state)
    # m = 0.5 − 1 = −0.5, v = 0.75 + 1 = 1.75; m̂ = −0.5/0.75, v̂ = 1.75/0.4375 = 4: w = 0.9 + 0.1·(2/3)/2
    assert params["w"][0] == pytest.approx(0.9 + 0.1 / 3, abs=1e-15)


# ----------------------------------------------------------------- against torch.optim
def _torch_steps(make, params: dict, grads_per_step: list[dict]) -> dict[str, np.ndarray]:
    tensors = {n: torch.tensor(p, dtype=torch.float64, requires_grad=True) for n, p in params.items()}
    optimizer = make(list(tensors.values()))
    for grads in grads_per_step:
        for name, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[name], dtype=torch.float64)
        optimizer.step()
    return {n: t.detach().numpy() for n, t in tensors.items()}


@pytest.mark.parametrize(("ours", "make"), [
    (SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (SGD(lr=0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (Adam(lr=0.3, betas=(0.8, 0.9), eps=1e-6),
     lambda p: torch.optim.Adam(p, lr=0.3, betas=(0.8, 0.9), eps=1e-6)),
], ids=["sgd", "sgd-momentum", "adam", "adam-settings"])
def test_optimizer_matches_torch_optim(ours, make):
    params = _random_tree(0)
    grads_per_step = [_random_tree(seed) for seed in range(1, 6)]
    state = ours.init(params)
    mine = params
    for grads in grads_per_step:
        mine, state = ours.update(mine, grads, state)
    theirs = _torch_steps(make, params, grads_per_step)
    for name in params:
        assert mine[name].dtype == np.float64
        np.testing.assert_allclose(mine[name], theirs[name], rtol=1e-12, atol=1e-12)
    assert any(not np.allclose(mine[n], params[n]) for n in params)  # the steps moved something


def test_float32_keeps_dtype():
    params = {n: p.astype(np.float32) for n, p in _random_tree(0).items()}
    grads = {n: p.astype(np.float32) for n, p in _random_tree(1).items()}
    for optimizer in (SGD(lr=0.1, momentum=0.5), Adam()):
        new, _ = optimizer.update(params, grads, optimizer.init(params))
        assert {p.dtype for p in new.values()} == {np.dtype(np.float32)}


@pytest.mark.parametrize(("make", "message"), [
    (lambda: SGD(lr=0), "lr must be"),
    (lambda: SGD(lr=0.1, momentum=1.0), "momentum must be"),
    (lambda: Adam(betas=(0.9,)), "betas must be"),
    (lambda: Adam(eps=-1.0), "eps must be"),
])
def test_bad_settings_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_missing_gradient_is_named():
    adam = Adam()
    params = _random_tree(0)
    with pytest.raises(ValueError, match="'b'"):
        adam.update(params, {"W": params["W"]}, adam.init(params))


# ----------------------------------------------------------------- clipping
def test_clipping_matches_torch():
    grads = {n: 10 * g for n, g in _random_tree(3).items()}
    clipped, norm = clip_global_norm(grads, 1.5)
    tensors = [torch.tensor(g, requires_grad=True) for g in grads.values()]
    for tensor, g in zip(tensors, grads.values(), strict=True):
        tensor.grad = torch.tensor(g)
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, 1.5)
    assert norm == pytest.approx(float(torch_norm), rel=1e-14)
    for tensor, g in zip(tensors, clipped.values(), strict=True):
        np.testing.assert_allclose(g, tensor.grad.numpy(), rtol=1e-14, atol=0)
    small, _ = clip_global_norm(grads, 1e9)
    assert all(np.array_equal(small[n], grads[n]) for n in grads)


# ----------------------------------------------------------------- truncated BPTT
def _truncation_problem(cell: str = "rnn", T: int = 12):
    task = AddingProblem(T=T)
    engine = build_engine(cell, task.head, task.loss_at)
    params = initial_params(engine, task, H=6, seed=1)
    xs, targets = task.batch(np.random.default_rng(0), 4)
    return engine, params, xs, targets


@pytest.mark.parametrize("cell", list(CELLS))
def test_truncation_at_T_or_more_is_full_bptt_exactly(cell):
    engine, params, xs, targets = _truncation_problem(cell, T=8)
    _, full = gradients(engine, params, xs, targets)
    for k2 in (8, 9, (1, 8), (3, 20)):
        _, truncated = gradients(engine, params, xs, targets, truncate=k2)
        for name in params:
            assert np.array_equal(truncated[name], full[name]), (k2, name)


def test_short_truncation_differs_by_a_stated_amount():
    """An adding problem of T = 12 with the loss at the last step, an RNN with H = 6: relative to the
    full gradient (all parameters together), truncation to k₂ = 1, 2, 4, 8, 11 steps is off by
    16.4 %, 3.96 %, 0.72 %, 0.0095 % and 0.0002 % — the RNN's gradient fades by about ×0.4 a step
    here, so the cut-off part shrinks geometrically — and by exactly nothing at k₂ = 12."""
    engine, params, xs, targets = _truncation_problem("rnn", T=12)
    _, full = gradients(engine, params, xs, targets)
    flat = np.concatenate([full[n].ravel() for n in params])
    errors = {}
    for k2 in (1, 2, 4, 8, 11, 12):
        _, cut = gradients(engine, params, xs, targets, truncate=k2)
        assert np.array_equal(cut["W_hy"], full["W_hy"])  # the head sees no recurrence: never cut
        difference = np.concatenate([cut[n].ravel() for n in params]) - flat
        errors[k2] = np.linalg.norm(difference) / np.linalg.norm(flat)
    expected = {1: 0.1635, 2: 0.03959, 4: 0.007161, 8: 9.537e-05, 11: 2.243e-06}
    for k2, value in expected.items():
        assert errors[k2] == pytest.approx(value, rel=1e-3), (k2, errors[k2])
    assert errors[12] == 0.0


def test_train_passes_truncation_through():
    task = AddingProblem(T=12)
    engine = build_engine("rnn", task.head, task.loss_at)
    params = initial_params(engine, task, H=6, seed=1)
    kwargs = dict(steps=3, batch_size=4, seed=0, eval_every=3, stop_when_solved=False)
    full = train(engine, params, task, SGD(lr=0.1), **kwargs)
    same = train(engine, params, task, SGD(lr=0.1), truncate=12, **kwargs)
    cut = train(engine, params, task, SGD(lr=0.1), truncate=(1, 2), **kwargs)
    assert all(np.array_equal(full.params[n], same.params[n]) for n in params)
    assert not np.array_equal(full.params["W_xh"], cut.params["W_xh"])


# ----------------------------------------------------------------- the loop
def test_same_seed_same_bytes_and_resume_continues_exactly():
    task = AddingProblem(T=10)
    engine = build_engine("gru", task.head, task.loss_at)
    params = initial_params(engine, task, H=8, seed=0)
    kwargs = dict(batch_size=8, seed=3, eval_every=5, stop_when_solved=False, clip=1.0)
    one = train(engine, params, task, Adam(lr=0.01), 20, **kwargs)
    two = train(engine, params, task, Adam(lr=0.01), 20, **kwargs)
    assert one.losses.tobytes() == two.losses.tobytes()
    assert all(one.params[n].tobytes() == two.params[n].tobytes() for n in params)
    half = train(engine, params, task, Adam(lr=0.01), 10, **kwargs)
    resumed = train(engine, params, task, Adam(lr=0.01), 20, resume=half, **kwargs)
    assert resumed.losses.tobytes() == one.losses.tobytes()
    assert all(resumed.params[n].tobytes() == one.params[n].tobytes() for n in params)
    other = train(engine, params, task, Adam(lr=0.01), 20, **{**kwargs, "seed": 4})
    assert other.losses.tobytes() != one.losses.tobytes()


def test_float32_training_stays_float32():
    task = AddingProblem(T=6)
    engine = build_engine("lstm", task.head, task.loss_at)
    params = initial_params(engine, task, H=4, seed=0, dtype=np.float32)
    xs, targets = task.batch(np.random.default_rng(0), 3)
    _, grads = gradients(engine, params, xs.astype(np.float32), targets.astype(np.float32))
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    result = train(engine, params, task, Adam(lr=0.01), 3, batch_size=3, eval_every=3)
    assert {p.dtype for p in result.params.values()} == {np.dtype(np.float32)}
    assert np.all(np.isfinite(result.losses))


def test_wrong_engine_for_task_is_named():
    task = AddingProblem(T=5)
    engine = build_engine("rnn", "softmax", "every")
    with pytest.raises(ValueError, match="head='linear'"):
        train(engine, {}, task, Adam(), 1)


def test_adding_problem_baseline_is_the_variance_of_the_sum():
    task = AddingProblem(T=20)
    xs, targets = task.batch(np.random.default_rng(0), 200_000)
    assert np.mean((targets - 1.0) ** 2) == pytest.approx(ADDING_BASELINE, rel=0.01)
    assert task.threshold == pytest.approx(0.1 * 2 / 12)
    first, second = (np.argmax(xs[:, :, 1] * mask, axis=0) for mask in
                     (np.arange(20)[:, None] < 10, np.arange(20)[:, None] >= 10))
    assert np.all(first < 10) and np.all(second >= 10)


def test_copy_task_layout():
    task = CopyTask(delay=4, symbols=2, alphabet=3)
    xs, targets = task.batch(np.random.default_rng(0), 5)
    assert xs.shape == (task.T, 5, 5) and task.T == 9
    inputs = np.argmax(xs, axis=-1)
    np.testing.assert_array_equal(targets[-2:], inputs[:2])  # recalled in order
    assert np.all(inputs[6] == 4) and np.all(targets[:-2] == 3)  # delimiter, blanks


def test_gru_learns_a_short_copy():
    task = CopyTask(delay=3, symbols=1, alphabet=3)
    engine = build_engine("gru", task.head, task.loss_at)
    result = train(engine, initial_params(engine, task, H=16, seed=0), task, Adam(lr=0.02), 600,
                   batch_size=32, seed=0, eval_every=20)
    assert result.solved_at is not None, result.evaluations[-3:]


# ----------------------------------------------------------------- hello, every cell
HELLO_CELLS = [*CELLS, "custom"]


def _hello_cell(name: str):
    if name != "custom":
        return name
    return custom_cell("leaky_gate", """
u_t = sigmoid(W_xu @ x_t + W_hu @ h_prev + b_u)
h_t = u_t * h_prev + (1 - u_t) * tanh(W_xh @ x_t + W_hh @ h_prev + b_h)
""", {"h_t": "h_prev"})


@pytest.mark.parametrize("name", HELLO_CELLS)
def test_hello_predicts_ello_from_hell(name):
    task = CharacterModel()
    engine = build_engine(_hello_cell(name), task.head, task.loss_at)
    params = initial_params(engine, task, H=8, seed=0)
    assert task.predict(engine, params) != "ello"  # not by chance at initialisation
    result = train(engine, params, task, Adam(lr=0.05), 300, batch_size=1, seed=0, eval_every=5)
    assert result.solved_at is not None
    assert task.predict(engine, result.params, "hell") == "ello"
