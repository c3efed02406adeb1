"""The toy vocabulary, teacher-forcing batch, toy translator and decoding behave as the lesson says."""

import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from content.nlp2llm.reference import (
    EOS_ID,
    IGNORE_INDEX,
    MODEL_FACTORIES,
    PAD_ID,
    START_ID,
    TOKEN_IDS,
    UNK_ID,
    VOCABULARY,
    build_toy_translator,
    cross_entropy,
    decode_ids,
    encode_text,
    greedy_decode,
    pad_sequences,
    sample_decode,
    sample_next_token,
    teacher_forcing_batch,
    tokenize,
)
from content.nlp2llm.reference.vocabulary import CONTINUATION_PIECES, WORD_PIECES
from graders.sandbox.models import build_model

SOURCE = encode_text("I am a teacher")


def test_the_lesson_sentence_splits_teacher_into_tea_and_cher():
    assert tokenize("I am a teacher") == ["I", "am", "a", "tea", "cher"]
    assert tokenize("Je suis enseignant") == ["Je", "suis", "en", "sei", "gnant"]
    assert tokenize("Je suis enseignante.") == ["Je", "suis", "en", "sei", "gnante", "."]


def test_special_tokens_come_first_with_fixed_ids():
    assert VOCABULARY[:4] == ("<pad>", "<s>", "<EOS>", "<unk>")
    assert (PAD_ID, START_ID, EOS_ID, UNK_ID) == (0, 1, 2, 3)
    assert len(TOKEN_IDS) == len(VOCABULARY)


def test_no_piece_is_both_a_word_start_and_a_continuation():
    assert not set(WORD_PIECES) & set(CONTINUATION_PIECES)


def test_unknown_rest_of_a_word_becomes_one_unk():
    assert tokenize("teachers") == ["tea", "cher", "s"]
    assert tokenize("teachery cat") == ["tea", "cher", "<unk>", "<unk>"]


def test_ids_decode_back_to_the_text():
    for text in ("I am a teacher", "Je suis enseignante.", "Elle est heureuse !", "You are a student"):
        ids = encode_text(text)
        assert decode_ids([START_ID, *ids, EOS_ID, PAD_ID]) == text.replace(" !", "!")


def test_teacher_forcing_shifts_the_target_by_one():
    je_suis, enseignant = encode_text("Je suis"), encode_text("enseignant")
    batch = teacher_forcing_batch([je_suis + enseignant, je_suis])
    assert batch.decoder_input_ids.tolist() == [
        [START_ID, *je_suis, *enseignant],
        [START_ID, *je_suis, PAD_ID, PAD_ID, PAD_ID],
    ]
    assert batch.labels.tolist() == [
        [*je_suis, *enseignant, EOS_ID],
        [*je_suis, EOS_ID, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX],
    ]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(4, len(VOCABULARY) - 1), max_size=6), min_size=1, max_size=4))
def test_labels_are_the_decoder_input_moved_left(targets):
    batch = teacher_forcing_batch(targets)
    for row, target in enumerate(targets):
        inputs = batch.decoder_input_ids[row, : len(target) + 1].tolist()
        labels = batch.labels[row, : len(target) + 1].tolist()
        assert inputs[1:] == labels[:-1] == target
        assert (inputs[0], labels[-1]) == (START_ID, EOS_ID)
        assert (batch.decoder_input_ids[row, len(target) + 1 :] == PAD_ID).all()
        assert (batch.labels[row, len(target) + 1 :] == IGNORE_INDEX).all()


def test_the_factory_builds_the_same_weights_every_time_without_touching_global_randomness():
    torch.manual_seed(7)
    expected_next = torch.rand(1)
    torch.manual_seed(7)
    first = MODEL_FACTORIES["toy_translator"]()
    second = build_toy_translator()
    assert torch.rand(1) == expected_next
    for (name, first_value), second_value in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(first_value, second_value), name
    assert not first.training


def test_the_sandbox_registry_builds_the_same_model_by_name():
    from_registry = build_model("toy_translator", seed=5)
    direct = build_toy_translator(seed=5)
    for name, value in from_registry.state_dict().items():
        assert torch.equal(value, direct.state_dict()[name]), name
    assert not torch.equal(build_toy_translator(seed=6).embedding.weight, direct.embedding.weight), (
        "the seed must matter"
    )


def test_a_forward_pass_is_fast():
    model = build_toy_translator()
    source = torch.tensor([SOURCE])
    decoder_input = torch.tensor([[START_ID, *encode_text("Je suis en")]])
    durations = []
    with torch.no_grad():
        for _ in range(30):
            started = time.perf_counter()
            model(source, decoder_input)
            durations.append(time.perf_counter() - started)
    # The fastest run, so that a busy machine does not fail the test; typically ~0.5 ms.
    assert min(durations) < 0.003


def test_decode_step_gives_the_last_position_of_the_full_decode():
    model = build_toy_translator()
    source = torch.tensor([SOURCE])
    decoder_input = torch.tensor([[START_ID, *encode_text("Je suis")]])
    with torch.no_grad():
        memory = model.encode(source)
        torch.testing.assert_close(
            model.decode_step(memory, decoder_input, source), model(source, decoder_input)[:, -1]
        )


def test_padding_the_source_changes_nothing_for_the_sentence():
    model = build_toy_translator()
    short, long = encode_text("I am"), encode_text("You are a student")
    sources = pad_sequences([short, long])
    decoder_input = torch.tensor([[START_ID, *encode_text("Je")]] * 2)
    with torch.no_grad():
        batched = model(sources, decoder_input)
        alone = model(torch.tensor([short]), decoder_input[:1])
    torch.testing.assert_close(batched[:1], alone)


def test_the_decoder_cannot_see_the_future():
    model = build_toy_translator()
    source = torch.tensor([SOURCE])
    with torch.no_grad():
        prefix = model(source, torch.tensor([[START_ID, 20]]))
        longer = model(source, torch.tensor([[START_ID, 20, 21, 22]]))
    torch.testing.assert_close(longer[:, :2], prefix)


def test_teacher_forcing_loss_is_the_mean_over_real_tokens():
    model = build_toy_translator()
    batch = teacher_forcing_batch([encode_text("Je suis enseignant"), encode_text("Je suis")])
    sources = pad_sequences([SOURCE, SOURCE])
    logits = model(sources, batch.decoder_input_ids)
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, len(VOCABULARY)), batch.labels.reshape(-1))
    torch.testing.assert_close(cross_entropy(logits, batch.labels), expected)


def test_greedy_decoding_takes_the_argmax_each_step_and_stops_at_max_length():
    model = build_toy_translator()
    generated = greedy_decode(model, SOURCE, max_length=6)
    assert len(generated) == 6
    with torch.no_grad():
        source = torch.tensor([SOURCE])
        memory = model.encode(source)
        for step in range(6):
            prefix = torch.tensor([[START_ID, *generated[:step]]])
            assert generated[step] == int(model.decode_step(memory, prefix, source).argmax())


def test_greedy_decoding_stops_at_eos():
    model = build_toy_translator()
    with torch.no_grad():
        model.output_projection.bias[EOS_ID] = 1000.0
    assert greedy_decode(model, SOURCE) == [EOS_ID]


def test_sampling_is_reproducible_with_a_generator():
    model = build_toy_translator()
    first = sample_decode(model, SOURCE, generator=torch.Generator().manual_seed(3))
    second = sample_decode(model, SOURCE, generator=torch.Generator().manual_seed(3))
    other = sample_decode(model, SOURCE, generator=torch.Generator().manual_seed(4))
    assert first == second
    assert first != other


def test_temperature_zero_sampling_is_greedy_decoding():
    model = build_toy_translator()
    assert sample_decode(model, SOURCE, temperature=0.0) == greedy_decode(model, SOURCE)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), temperature=st.sampled_from([1e-8, 1e-10, 1e-12]))
def test_a_tiny_temperature_picks_the_argmax(seed, temperature):
    logits = torch.randn(4, 9, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    sampled = sample_next_token(logits, temperature=temperature, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(sampled, logits.argmax(dim=-1))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), top_k=st.integers(1, 5))
def test_top_k_sampling_only_picks_among_the_k_largest(seed, top_k):
    logits = torch.randn(50, 9, generator=torch.Generator().manual_seed(seed))
    sampled = sample_next_token(logits, top_k=top_k, generator=torch.Generator().manual_seed(seed))
    allowed = logits.topk(top_k, dim=-1).indices
    assert (allowed == sampled[:, None]).any(dim=-1).all()


def test_sampling_follows_the_softmax_probabilities():
    logits = torch.tensor([0.0, 1.0, 2.0]).log_softmax(dim=-1)
    draws = sample_next_token(logits.expand(20_000, 3), generator=torch.Generator().manual_seed(0))
    frequencies = torch.bincount(draws, minlength=3) / 20_000
    torch.testing.assert_close(frequencies, logits.exp(), atol=0.02, rtol=0)


def test_negative_temperature_is_refused():
    with pytest.raises(ValueError, match="temperature"):
        sample_next_token(torch.zeros(3), temperature=-1.0)
