"""Tests of the greedy-decoding exercise: stop at <EOS> or max_length, feed back the whole prefix."""

import torch

from graders.code import test
from graders.sandbox.models import build_model

# "I am a teacher" in the toy vocabulary (I, am, a, tea, cher), where <s> is 1 and <EOS> is 2.
LESSON_SOURCE = [4, 5, 6, 7, 39]
START_ID, EOS_ID = 1, 2


@torch.no_grad()
def decode_like(seed, source_ids, start_id, eos_id, max_length, *, stop_at_eos=True, last_token_only=False):
    """Greedy decoding, or one of its usual mistakes: not stopping at <EOS>, reading only the last token."""
    model = build_model("toy_translator", seed=seed)
    source = torch.tensor([source_ids])
    memory = model.encode(source)
    generated = [start_id]
    for _ in range(max_length):
        decoder_input = generated[-1:] if last_token_only else generated
        next_id = int(model.decode_step(memory, torch.tensor([decoder_input]), source)[0].argmax())
        generated.append(next_id)
        if next_id == eos_id and stop_at_eos:
            break
    return generated[1:]


def check_decoding(t, seed, source_ids, start_id=START_ID, eos_id=EOS_ID, max_length=20):
    model = t.model("toy_translator", seed=seed)
    got = t.call("greedy_decode", model, source_ids, start_id, eos_id, max_length=max_length, returns=list)
    expected = t.reference("greedy_decode", model, source_ids, start_id, eos_id, max_length=max_length)
    if got == expected:
        return
    shown = (
        f"greedy_decode(model, {source_ids}, start_id={start_id}, eos_id={eos_id}, max_length={max_length}) "
        f"returned {got!r}; expected {expected!r}."
    )
    ended = expected[-1] == eos_id
    if not all(type(token) is int for token in got):
        t.fail(f"{shown} Return a list of plain ints: `int(logits.argmax())` turns a 0-d tensor into one.")
    if ended and got == expected[:-1]:
        t.fail(f"{shown} Keep `<EOS>` (id {eos_id}) as the last id of the output: it says the model chose to stop.")
    if ended and len(got) > len(expected) and got[: len(expected)] == expected:
        t.fail(f"{shown} The model wrote `<EOS>` (id {eos_id}) at step {len(expected)}, but your loop went on: "
               "stop as soon as the id you append is `eos_id`.")
    if got[:1] == [start_id] and got[1:] in (expected, expected[:-1]):
        t.fail(f"{shown} Leave `<s>` (id {start_id}) out of the output: return only the generated ids.")
    if not ended and got[: len(expected)] == expected[: len(got)] and abs(len(got) - max_length) == 1:
        t.fail(f"{shown} The model never wrote `<EOS>`, so the loop must stop after exactly max_length = "
               f"{max_length} generated tokens, not {len(got)}.")
    if got == decode_like(seed, source_ids, start_id, eos_id, max_length, last_token_only=True):
        t.fail(f"{shown} Your decoder reads only the last token at each step. Feed back the whole sequence "
               "written so far, `<s>` included: the decoder input grows by one token per step.")
    step = next((index for index, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), None)
    if step is not None:
        t.fail(f"{shown} At step {step + 1} you wrote {got[step]}, but after reading {[start_id, *expected[:step]]} "
               f"the largest logit is that of {expected[step]}: take the argmax of the logits of the last position.")
    t.fail(shown)


@test(title="Stops at <EOS>", points=3)
def stops_at_eos(t):
    check_decoding(t, seed=12, source_ids=LESSON_SOURCE)


@test(title="Stops after max_length tokens", points=2)
def stops_after_max_length(t):
    check_decoding(t, seed=3, source_ids=LESSON_SOURCE, max_length=6)


@test(title="Reads everything written so far", points=2)
def reads_everything_written_so_far(t):
    check_decoding(t, seed=28, source_ids=LESSON_SOURCE)


@test(title="The eos_id you are given", points=1)
def the_eos_id_you_are_given(t):
    check_decoding(t, seed=28, source_ids=LESSON_SOURCE, eos_id=31)


@test(title="<EOS> at the first step", points=1, hidden=True)
def eos_at_the_first_step(t):
    check_decoding(t, seed=19, source_ids=LESSON_SOURCE)


@test(title="max_length = 1", points=1, hidden=True)
def max_length_one(t):
    check_decoding(t, seed=12, source_ids=LESSON_SOURCE, max_length=1)


@test(title="Other models and sentences", points=1, hidden=True)
def other_models_and_sentences(t):
    check_decoding(t, seed=49, source_ids=[11, 15, 16, 6, 7, 39])
    check_decoding(t, seed=52, source_ids=[8, 10, 6, 17, 40], max_length=12)


@test(title="Another start_id", points=1, hidden=True)
def another_start_id(t):
    check_decoding(t, seed=18, source_ids=LESSON_SOURCE, start_id=3, max_length=10)
