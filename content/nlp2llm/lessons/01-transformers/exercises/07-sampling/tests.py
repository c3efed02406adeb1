"""Tests of the sampling exercise: argmax at temperature 0, reproducible draws, and the distribution itself.

The statistical tests draw 20 000 tokens from one row of logits with a seeded generator, so a
submission that uses the generator gets the same draws every time: the tests are deterministic.
A correct sampler fails them with probability below 1e-6 (a chi-square test at that level).
"""

import torch

from graders.code import StudentCodeFailed, test

DRAWS = 20_000
SIGNIFICANCE = 1e-6
ROW = torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5, -0.5])

DIVISION_BY_ZERO = (
    "Temperature 0 means argmax: check for it before dividing, since logits / 0 are ±inf or nan and no "
    "distribution can be sampled from them."
)
IGNORES_GENERATOR = (
    "Two calls with generators in the same state gave different ids: your draws do not come from "
    "`generator`. Pass it on: `torch.multinomial(probabilities, 1, generator=generator)`."
)
FIXED_DRAWS = (
    "Generators seeded with 5 and with 6 gave exactly the same ids: your draws do not depend on `generator`. "
    "Pass it on: `torch.multinomial(probabilities, 1, generator=generator)`."
)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sample(t, logits, **kwargs):
    """The student's ids; a failure at temperature 0 says how to treat it."""
    try:
        return t.call("sample_next_token", logits, **kwargs)
    except StudentCodeFailed as failed:
        if kwargs.get("temperature") == 0:
            t.fail(f"{failed}\n\n{DIVISION_BY_ZERO}")
        raise


def check_ids(t, got, logits):
    expected_shape = tuple(logits.shape[:-1])
    if tuple(got.shape) != expected_shape:
        t.fail(f"Your ids have shape {tuple(got.shape)}; expected {expected_shape}, one id per row of logits "
               "(`.reshape(logits.shape[:-1])` after the draw).")
    if got.dtype != torch.long:
        t.fail(f"Your ids have dtype {got.dtype}; token ids are torch.long.")


def distribution(logits: torch.Tensor, temperature: float, top_k: int | None = None) -> torch.Tensor:
    scaled = logits / temperature
    if top_k is not None:
        kth = scaled.topk(min(top_k, scaled.shape[-1])).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    return torch.softmax(scaled.double(), dim=-1)


def fits(counts: torch.Tensor, probabilities: torch.Tensor) -> bool:
    """Chi-square goodness of fit at SIGNIFICANCE; a token of probability 0 must never come out."""
    possible = probabilities > 0
    if bool(counts[~possible].any()):
        return False
    expected = probabilities[possible] * counts.sum()
    statistic = ((counts[possible] - expected) ** 2 / expected).sum()
    freedom = int(possible.sum()) - 1
    if freedom == 0:
        return True
    p_value = torch.special.gammaincc(torch.tensor(freedom / 2, dtype=torch.float64), statistic / 2)
    return bool(p_value >= SIGNIFICANCE)


def frequency_table(counts: torch.Tensor, probabilities: torch.Tensor) -> str:
    total = counts.sum()
    return "; ".join(
        f"id {index}: {100 * count / total:.1f}% (expected {100 * probability:.1f}%)"
        for index, (count, probability) in enumerate(zip(counts.tolist(), probabilities.tolist(), strict=True))
    )


def check_distribution(t, logits, temperature, top_k=None, seed=7):
    rows = logits.expand(DRAWS, -1).contiguous()
    got = sample(t, rows, temperature=temperature, top_k=top_k, generator=seeded(seed))
    check_ids(t, got, rows)
    if bool(((got < 0) | (got >= logits.shape[-1])).any()):
        t.fail(f"Your ids go from {int(got.min())} to {int(got.max())}; there are only {logits.shape[-1]} tokens.")
    counts = torch.bincount(got, minlength=logits.shape[-1]).double()
    expected = distribution(logits, temperature, top_k)
    if fits(counts, expected):
        return
    setting = f"temperature={temperature}" + (f", top_k={top_k}" if top_k is not None else "")
    shown = (f"With logits {logits.tolist()} and {setting}, {DRAWS} draws gave: "
             f"{frequency_table(counts, expected)}.")
    kept = expected > 0
    if top_k is not None and bool(counts[~kept].any()):
        extra = [index for index in range(len(counts)) if counts[index] and not kept[index]]
        t.fail(f"{shown} Ids {extra} are outside the {top_k} largest logits and must never come out: set the "
               "logits below the k-th largest to -inf before the softmax.")
    diagnoses = [
        (distribution(logits, 1.0, top_k), "This is the distribution for temperature 1: divide the logits by the "
         "temperature *before* the softmax. Dividing the probabilities changes nothing, since they are "
         "renormalised when sampled."),
        (distribution(logits, 1 / temperature, top_k), "You multiplied the logits by the temperature: divide them "
         "by it, so that a small temperature sharpens the distribution."),
    ]
    if top_k is not None:
        diagnoses += [
            (distribution(logits, temperature, top_k + 1), f"You kept the {top_k + 1} largest logits: keep "
             f"{top_k}, those at least as large as the {top_k}-th largest."),
            (distribution(logits, temperature), "Your draws follow the full softmax: top-k was not applied."),
        ]
    for probabilities, message in diagnoses:
        if fits(counts, probabilities):
            t.fail(f"{shown} {message}")
    t.fail(f"{shown} These frequencies are too far from softmax(logits / T) to be chance (chi-square test, "
           f"p < {SIGNIFICANCE:g}).")


@test(title="Temperature 0 is argmax", points=2)
def temperature_zero_is_argmax(t):
    logits = t.randn(5, 10)
    got = sample(t, logits, temperature=0)
    check_ids(t, got, logits)
    t.check_close(got, logits.argmax(dim=-1), what="your ids at temperature 0", hint="Take the argmax of each row.")


@test(title="A tiny temperature is argmax too", points=1)
def tiny_temperature_is_argmax(t):
    # Logits half a unit apart: at T = 0.001 the runner-up has probability about exp(-500).
    logits = torch.stack([torch.randperm(8, generator=t.generator).float() * 0.5 for _ in range(6)])
    got = sample(t, logits, temperature=0.001, generator=seeded(3))
    check_ids(t, got, logits)
    if not torch.equal(got, logits.argmax(dim=-1)):
        t.fail(f"At temperature 0.001 your ids are {got.tolist()}, but softmax(logits / 0.001) puts all the "
               f"probability on the argmax, {logits.argmax(dim=-1).tolist()}. Divide the logits by the "
               "temperature before the softmax.")


@test(title="Reproducible with the generator", points=2)
def reproducible_with_the_generator(t):
    logits = t.randn(300, 6)
    first = sample(t, logits, generator=seeded(5))
    check_ids(t, first, logits)
    if not torch.equal(first, sample(t, logits, generator=seeded(5))):
        t.fail(IGNORES_GENERATOR)
    if torch.equal(first, sample(t, logits, generator=seeded(6))):
        t.fail(FIXED_DRAWS)


@test(title="The same draws as torch.multinomial", points=2)
def the_same_draws_as_torch_multinomial(t):
    logits = 2 * t.randn(32, 7)
    generator = seeded(11)
    got = sample(t, logits, temperature=0.8, top_k=3, generator=generator)
    check_ids(t, got, logits)
    t.check_close(
        got,
        t.reference("sample_next_token", logits, temperature=0.8, top_k=3, generator=generator),
        what="your ids for temperature=0.8, top_k=3 and a generator seeded with 11",
        hint="Draw with one call `torch.multinomial(probabilities, 1, generator=generator)` on the "
        "(rows, n_vocab) probabilities, after the temperature and top-k.",
    )


@test(title="Frequencies follow softmax(z / T) at T = 1, 0.5 and 2", points=3)
def frequencies_follow_the_softmax(t):
    for temperature in (1.0, 0.5, 2.0):
        check_distribution(t, ROW, temperature)


@test(title="Top-k keeps the k most likely tokens", points=2)
def top_k_keeps_the_k_most_likely(t):
    check_distribution(t, ROW, 1.0, top_k=2)
    check_distribution(t, ROW, 0.5, top_k=4)


@test(title="A single row and three dimensions", points=1, hidden=True)
def other_shapes(t):
    single = t.randn(9)
    got = sample(t, single, generator=seeded(1))
    check_ids(t, got, single)
    batch = t.randn(2, 3, 9)
    got = sample(t, batch, temperature=0.7, top_k=4, generator=seeded(2))
    check_ids(t, got, batch)
    t.check_close(got, t.reference("sample_next_token", batch, temperature=0.7, top_k=4, generator=seeded(2)))


@test(title="top_k = 1 is argmax", points=1, hidden=True)
def top_k_one_is_argmax(t):
    logits = t.randn(50, 12)
    t.check_close(sample(t, logits, temperature=1.5, top_k=1, generator=seeded(4)), logits.argmax(dim=-1))


@test(title="A top_k larger than the vocabulary", points=1, hidden=True)
def top_k_larger_than_the_vocabulary(t):
    check_distribution(t, ROW, 1.0, top_k=50)


@test(title="Logits around 1000", points=1, hidden=True)
def logits_around_a_thousand(t):
    check_distribution(t, ROW + 1000, 1.0)
