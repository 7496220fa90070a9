"""Shared pieces of the tests' random problems, written from the documented API (not the engine's)."""



def spec_shape(name, d, h, k):
    """The documented shape of a parameter: W_x* (H, D), W_h* (H, H), W_hy (K, H), b_y (K,), b_* (H,)."""
    if name == "W_hy":
        return (k, h)
    if name == "b_y":
        return (k,)
    if name.startswith("W_x"):
        return (h, d)
    if name.startswith("W_h"):
        return (h, h)
    return (h,)


def random_targets(rng, head, loss_at, t, n, k):
    """Class indices (softmax), probabilities (sigmoid) or reals (linear), shaped for ``loss_at``."""
    out = (t, n) if loss_at == "every" else (n,)
    if head == "softmax":
        return rng.integers(0, k, size=out)
    if head == "sigmoid":
        return rng.uniform(0, 1, size=(*out, k))
    return rng.normal(size=(*out, k))
