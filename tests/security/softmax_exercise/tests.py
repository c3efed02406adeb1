import torch

from graders.code import test


@test(title="Matches the reference", points=2)
def matches_reference(t):
    x = t.randn(4, 7)
    t.check_close(t.call("softmax", x, dim=-1), t.reference("softmax", x, dim=-1))


@test(title="Rows sum to one", points=1)
def rows_sum_to_one(t):
    x = t.randn(3, 5)
    got = t.call("softmax", x, dim=-1)
    t.check_close(got.sum(dim=-1), torch.ones(3), what="the sum of each row of the output")


@test(title="Large logits", points=1, hidden=True)
def large_logits(t):
    x = t.randn(2, 6) * 1000
    t.check_close(
        t.call("softmax", x, dim=-1),
        t.reference("softmax", x, dim=-1),
        nonfinite_hint="exp overflows for logits around 1000: subtract the maximum before exponentiating.",
    )
