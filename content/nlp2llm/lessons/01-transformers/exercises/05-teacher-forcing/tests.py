"""Tests of the teacher-forcing exercise: the lesson's table, a padded batch, the ids you are given."""

import torch

from graders.code import test

# The lesson's ids, and those of the platform's toy vocabulary.
LESSON_IDS = {"start_id": 212, "eos_id": 5000, "pad_id": 0}
TOY_IDS = {"start_id": 1, "eos_id": 2, "pad_id": 0}
LESSON_TARGET = [490, 1131, 3212, 2757]


def padded(rows, value, *, left=False):
    longest = max(len(row) for row in rows)
    fill = [[value] * (longest - len(row)) for row in rows]
    return torch.tensor([pad + row if left else row + pad for row, pad in zip(rows, fill, strict=True)])


def expected_batch(targets, start_id, eos_id, pad_id, ignore_index=-100):
    return (
        padded([[start_id, *target] for target in targets], pad_id),
        padded([[*target, eos_id] for target in targets], ignore_index),
    )


def input_mistakes(targets, start_id, eos_id, pad_id, ignore_index):
    """Decoder inputs built the usual wrong ways, each with what to tell the student."""
    return [
        (padded(targets, pad_id), "Each decoder input starts with the start token `<s>` (start_id): the decoder "
         "needs something to read before it has written anything."),
        (padded([[start_id, *target] for target in targets], ignore_index), "Pad the decoder inputs with `pad_id`: "
         "they are token ids that go into the embedding layer, and the ignore index is not a token. Only the "
         "labels are padded with `ignore_index`."),
        (padded([[start_id, *target, eos_id] for target in targets], pad_id)[:, :-1], "The decoder input is `<s>` "
         "followed by the target, with no `<EOS>`: nothing is predicted after `<EOS>`, so it is never read."),
        (padded([[start_id, *target] for target in targets], pad_id, left=True), "Pad at the end of each sentence, "
         "not at the start: position 1 must be `<s>` in every row."),
    ]


def label_mistakes(targets, start_id, eos_id, pad_id, ignore_index):
    """Labels built the usual wrong ways, each with what to tell the student."""
    return [
        (padded([[start_id, *target] for target in targets], pad_id), "Your labels are the decoder input itself. "
         "Label t is the token that should come *after* decoder input t: the target followed by `<EOS>`, "
         "shifted one position to the left of the decoder input."),
        (padded([[start_id, *target] for target in targets], ignore_index), "Your labels start with `<s>`, so they "
         "are the decoder input again. Label t is the token that should come *after* decoder input t: the "
         "target followed by `<EOS>`."),
        (padded([[*target, eos_id] for target in targets], pad_id), "Pad the labels with `ignore_index`, not "
         "`pad_id`: otherwise the loss would train the model to predict padding after `<EOS>`."),
        (torch.cat([padded(targets, ignore_index), torch.full((len(targets), 1), eos_id)], dim=1), "`<EOS>` comes "
         "right after each sentence's last token, before the padding, not in the last column of the batch."),
        (padded(targets, ignore_index), "Your labels have no `<EOS>`: append it to every target, so the model "
         "learns to stop."),
        (padded([[*target, eos_id] for target in targets], ignore_index, left=True), "Pad at the end of each "
         "sentence, not at the start: label 1 is the first token of the target in every row."),
    ]


def same(got, expected) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == expected.shape and bool((got == expected).all())


def check_batch(t, targets, ids, ignore_index=None):
    kwargs = {} if ignore_index is None else {"ignore_index": ignore_index}
    ignore = -100 if ignore_index is None else ignore_index
    got = t.call("teacher_forcing_batch", targets, **ids, **kwargs, returns=(tuple, list))
    if len(got) != 2:
        t.fail(f"`teacher_forcing_batch` returned {len(got)} values; return two: (decoder_input_ids, labels).")
    got_inputs, got_labels = got
    inputs, labels = expected_batch(targets, **ids, ignore_index=ignore)
    shown = f"\nFor targets {targets!r} and {', '.join(f'{k}={v}' for k, v in ids.items())}, expected\n" \
            f"decoder_input_ids = {inputs.tolist()}\nlabels = {labels.tolist()}"
    if same(got_inputs, labels) and same(got_labels, inputs):
        t.fail("You returned (labels, decoder inputs): return them in the order (decoder_input_ids, labels).")
    if ids != LESSON_IDS:
        lesson_inputs, lesson_labels = expected_batch(targets, **LESSON_IDS, ignore_index=ignore)
        if same(got_inputs, lesson_inputs) or same(got_labels, lesson_labels):
            t.fail("Your batch uses the lesson's ids (<s> = 212, <EOS> = 5000): use the `start_id`, `eos_id` "
                   f"and `pad_id` you are given.{shown}")
    for name, value, expected, mistakes in (
        ("decoder_input_ids", got_inputs, inputs, input_mistakes),
        ("labels", got_labels, labels, label_mistakes),
    ):
        if same(value, expected):
            continue
        for wrong, message in mistakes(targets, **ids, ignore_index=ignore):
            if same(value, wrong):
                t.fail(f"Your {name} are {value.tolist()}. {message}{shown}")
        if isinstance(value, torch.Tensor) and value.shape == expected.shape and value.dtype != torch.long:
            t.fail(f"Your {name} have dtype {value.dtype}; token ids are integers: use torch.long.")
        t.check_close(value, expected, what=f"your {name}", hint=shown.strip())


@test(title="The lesson's sentence: Je suis encei gnant", points=2)
def lesson_sentence(t):
    check_batch(t, [LESSON_TARGET], LESSON_IDS)


@test(title="A padded batch", points=3)
def a_padded_batch(t):
    check_batch(t, [LESSON_TARGET, [490, 1131], [22, 357, 12]], LESSON_IDS)


@test(title="The ids you are given", points=1)
def the_ids_you_are_given(t):
    check_batch(t, [[27, 28, 5], [34, 9, 6, 3, 48]], TOY_IDS)


@test(title="An empty target", points=1, hidden=True)
def an_empty_target(t):
    check_batch(t, [[], [490, 1131]], LESSON_IDS)
    check_batch(t, [[]], TOY_IDS)


@test(title="Another ignore_index", points=1, hidden=True)
def another_ignore_index(t):
    check_batch(t, [LESSON_TARGET, [490]], LESSON_IDS, ignore_index=-1)


@test(title="A larger batch", points=1, hidden=True)
def a_larger_batch(t):
    lengths = t.randint(1, 15, (8,)).tolist()
    targets = [t.randint(4, 54, (length,)).tolist() for length in lengths]
    check_batch(t, targets, TOY_IDS)
