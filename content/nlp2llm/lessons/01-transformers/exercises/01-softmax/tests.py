"""Tests of the softmax exercise: the lesson's example, the chosen dimension, and logits far from 0.

The stability tests give each row its own offset: a softmax that subtracts one maximum for the
whole tensor instead of each row's is then caught, since a row far below the largest underflows.
"""

import torch

from graders.code import test
from graders.sandbox.ready_made import ATTENTION, SOFTMAX

BUILD_IT_YOURSELF = "None of torch's softmax functions, and four equal logits give 1/4 each"

OVERFLOW = (
    "In float32, exp(z) overflows to inf for z above about 88.7, and inf / inf = nan. Subtract the "
    "largest logit of each slice along `dim` before exponentiating: softmax(z) = softmax(z - max z), "
    "and then the largest exponential is exp(0) = 1."
)
GLOBAL_MAXIMUM = (
    "The row of logits around -100 came out as nan while the row around +100 was fine: you probably "
    "subtracted the maximum of the whole tensor. That pushes the low row to about -200, where every exp "
    "underflows to 0, and 0 / 0 = nan. Subtract the maximum of each slice along `dim` instead: "
    "`logits.amax(dim=dim, keepdim=True)`."
)


# Torch's softmaxes (F.softmax, x.softmax, nn.Softmax, getattr..., and its attention, which holds
# one) are taken away in this test's sandbox, however they are reached.
@test(title=BUILD_IT_YOURSELF, points=1, forbids=SOFTMAX | ATTENTION,
      rule="That is torch's own softmax: in this exercise you build it yourself from `exp`, `sum` and `amax`, "
      "so it is not allowed here (the other tests check your values either way).")
def built_from_exp_sum_and_max(t):
    got = t.call("softmax", torch.randn(3, 4, generator=t.generator) * 3, dim=-1)
    t.check_close(
        t.call("softmax", torch.zeros(4)),
        torch.full((4,), 0.25),
        hint="Four equal logits give four equal probabilities of 1/4.",
    )
    t.check(got.shape == (3, 4), f"Your softmax returned shape {tuple(got.shape)} for logits of shape (3, 4).")


@test(title="The lesson's example: z = (2, 1, 0)", points=2)
def lesson_example(t):
    logits = torch.tensor([2.0, 1.0, 0.0])
    got = t.call("softmax", logits)
    t.check_close(
        got,
        t.reference("softmax", logits),
        hint="Expected about (0.665, 0.245, 0.090): ŷ_k = exp(z_k) / (exp(z_1) + exp(z_2) + exp(z_3)).",
    )


@test(title="Every row sums to one", points=1)
def rows_sum_to_one(t):
    logits = t.randn(4, 7)
    got = t.call("softmax", logits, dim=-1)
    if got.shape != logits.shape:
        t.check_close(got, t.reference("softmax", logits, dim=-1))
    t.check_close(
        got.sum(dim=-1),
        torch.ones(4),
        what="the sum of each row of your output",
        hint="Divide every exponential by the sum of its own row (keepdim=True keeps the shapes aligned).",
    )


@test(title="Softmax along the dimension you are given", points=2)
def along_the_given_dimension(t):
    logits = t.randn(3, 4, 5)
    last_dimension = t.reference("softmax", logits, dim=-1)
    for dim in (0, 1):
        got = t.call("softmax", logits, dim=dim)
        expected = t.reference("softmax", logits, dim=dim)
        if got.shape == expected.shape and torch.allclose(got, last_dimension, atol=1e-6):
            t.fail(
                f"With dim={dim}, your output sums to 1 along the last dimension instead of dimension {dim}. "
                "Use `dim` in every reduction (the maximum and the sum), not -1."
            )
        t.check_close(
            got,
            expected,
            what=f"your softmax of logits of shape (3, 4, 5) along dim={dim}",
            hint=f"Every slice along dimension {dim} should sum to 1: reduce with `dim=dim, keepdim=True`.",
        )


@test(title="Logits around +100 and -100", points=2)
def logits_around_a_hundred(t):
    logits = torch.stack([100 + 3 * t.randn(6), -100 + 3 * t.randn(6)])
    got = t.call("softmax", logits, dim=-1)
    expected = t.reference("softmax", logits, dim=-1)
    if got.shape == expected.shape:
        finite = torch.isfinite(got)
        if not bool(finite[0].all()):
            t.fail(f"Your softmax returned {got[0].tolist()} for the row of logits around +100. {OVERFLOW}")
        if not bool(finite[1].all()):
            t.fail(GLOBAL_MAXIMUM)
    t.check_close(
        got,
        expected,
        hint="Near -100 the exponentials of float32 lose their precision (they are below 1e-38): "
        "subtract the maximum of each row first, so that the largest exponential is 1.",
    )


# Rows hundreds apart: after subtracting the largest logit of the whole tensor, a low row underflows.
ROW_OFFSETS = torch.tensor([0.0, -300.0, -600.0, 150.0])[:, None]


@test(title="Logits around 1000, each row offset differently", points=1, hidden=True,
      when_hidden_fails="A hidden test with logits around 1000 failed, its rows hundreds apart. exp overflows "
      "above 88.7 in float32, and a maximum taken over the whole tensor leaves the lower rows at exp(-300): 0. "
      "Subtract each row's own maximum along `dim`.")
def logits_around_a_thousand(t):
    logits = 1000 + 5 * t.randn(4, 8) + ROW_OFFSETS
    t.check_close(t.call("softmax", logits, dim=-1), t.reference("softmax", logits, dim=-1), nonfinite_hint=OVERFLOW)


@test(title="Logits around -1000, each row offset differently", points=1, hidden=True,
      when_hidden_fails="A hidden test with logits around -1000 failed, its rows hundreds apart. Every exp of "
      "such logits is 0 in float32 unless each row's own maximum is subtracted first.")
def logits_around_minus_a_thousand(t):
    logits = -1000 + 5 * t.randn(4, 8) + ROW_OFFSETS
    t.check_close(t.call("softmax", logits, dim=-1), t.reference("softmax", logits, dim=-1))


@test(title="Logits from -1000 to 1000 in one slice, along dim=0", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: logits from -1000 to 1000 in one column, with the softmax along "
      "dim=0. Take the maximum along `dim` too.")
def one_slice_from_minus_to_plus_a_thousand(t):
    logits = torch.tensor([[1000.0, -1000.0], [0.0, 999.0], [-1000.0, 1000.0]])
    t.check_close(t.call("softmax", logits, dim=0), t.reference("softmax", logits, dim=0))


@test(title="float64 logits of shape (2, 3, 4) along dim=1", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: float64 logits of shape (2, 3, 4), softmax along dim=1, compared "
      "to 1e-9. The result must keep the dtype of the logits.")
def float64_in_three_dimensions(t):
    logits = t.randn(2, 3, 4, dtype=torch.float64) * 10
    t.check_close(t.call("softmax", logits, dim=1), t.reference("softmax", logits, dim=1), rtol=1e-9, atol=1e-12)


@test(title="Gradients flow through it", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: the gradient of your softmax with respect to the logits, which "
      "must match autograd's. Only torch operations let autograd follow your code (no .item(), numpy, .detach()).")
def gradients_flow(t):
    logits = t.randn(3, 6) * 4
    got, grads = t.call("softmax", logits, dim=-1, grad_of=[0])
    expected, expected_grads = t.reference("softmax", logits, dim=-1, grad_of=[0])
    t.check_close(got, expected)
    t.check_close(grads[0], expected_grads[0], what="the gradient with respect to the logits", atol=1e-5)
