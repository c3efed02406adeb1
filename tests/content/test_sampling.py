"""The sampling exercise: argmax at T = 0, reproducible draws, and samplers whose distribution is off."""

FOLDER = "07-sampling"

SAMPLER = """
import torch

def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    {zero}
    scaled = {scaled}
    if top_k is not None:
        kth_largest = scaled.topk(min({k}, scaled.shape[-1]), dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth_largest, float("-inf"))
    probabilities = {probabilities}
    rows = probabilities.reshape(-1, probabilities.shape[-1])
    return torch.multinomial(rows, num_samples=1{generator}).reshape(logits.shape[:-1])
"""

ARGMAX_AT_ZERO = "if temperature == 0:\n        return logits.argmax(dim=-1)"


def sampler(zero=ARGMAX_AT_ZERO, scaled="logits / temperature", k="top_k",
            probabilities="torch.softmax(scaled, dim=-1)", generator=", generator=generator"):
    replacements = {"{zero}": zero, "{scaled}": scaled, "{k}": k, "{probabilities}": probabilities,
                    "{generator}": generator}
    source = SAMPLER
    for placeholder, text in replacements.items():
        source = source.replace(placeholder, text)
    return source


def test_the_reference_solution_gets_full_marks(exercise):
    graded = exercise.grade_file("solution.py")
    assert graded.score == graded.max_score == 16


def test_the_starter_gets_nothing(exercise):
    assert exercise.grade_file("starter.py").score == 0


def test_the_sampler_of_the_wrong_solutions_is_right_as_it_stands(exercise):
    assert exercise.grade(sampler()).score == 16


def test_a_sampler_that_ignores_the_generator_is_told_to_pass_it_on(exercise):
    graded = exercise.grade(sampler(generator=""))
    assert graded.failed_visible == {"reproducible_with_the_generator", "the_same_draws_as_torch_multinomial"}
    assert graded.score == 11
    assert graded.message("reproducible_with_the_generator") == (
        "Two calls with generators in the same state gave different ids: your draws do not come from `generator`. "
        "Pass it on: `torch.multinomial(probabilities, 1, generator=generator)`."
    )


def test_a_sampler_with_its_own_fixed_seed_is_told_its_draws_ignore_the_generator(exercise):
    graded = exercise.grade(sampler(generator=", generator=torch.Generator().manual_seed(0)"))
    assert graded.message("reproducible_with_the_generator").startswith(
        "Generators seeded with 5 and with 6 gave exactly the same ids"
    )


def test_temperature_applied_after_the_softmax_is_explained(exercise):
    graded = exercise.grade(sampler(scaled="logits", probabilities="torch.softmax(scaled, dim=-1) / temperature"))
    assert graded.failed_visible == {
        "tiny_temperature_is_argmax", "frequencies_follow_the_softmax", "top_k_keeps_the_k_most_likely"
    }
    assert graded.score == 9
    assert graded.test("temperature_zero_is_argmax").passed
    message = graded.message("frequencies_follow_the_softmax")
    assert message.startswith("With logits [2.0, 1.0, 0.0, -1.0, 0.5, -0.5] and temperature=0.5, 20000 draws gave: ")
    assert "gave: id 0: 54.0% (expected 82.5%); id 1: " in message
    assert message.endswith(
        "This is the distribution for temperature 1: divide the logits by the temperature *before* the softmax. "
        "Dividing the probabilities changes nothing, since they are renormalised when sampled."
    )
    assert "Divide the logits by the temperature before the softmax." in graded.message("tiny_temperature_is_argmax")


def test_a_temperature_that_multiplies_is_told_to_divide(exercise):
    graded = exercise.grade(sampler(scaled="logits * temperature"))
    assert graded.message("frequencies_follow_the_softmax").endswith(
        "You multiplied the logits by the temperature: divide them by it, so that a small temperature sharpens "
        "the distribution."
    )


def test_dividing_by_a_zero_temperature_shows_the_error_and_what_to_do(exercise):
    graded = exercise.grade(sampler(zero=""))
    assert graded.failed == {"temperature_zero_is_argmax"}
    assert graded.score == 14
    message = graded.message("temperature_zero_is_argmax")
    assert "raised RuntimeError" in message
    assert message.endswith(
        "Temperature 0 means argmax: check for it before dividing, since logits / 0 are ±inf or nan and no "
        "distribution can be sampled from them."
    )


def test_ignoring_top_k_names_the_ids_that_should_never_come_out(exercise):
    graded = exercise.grade(sampler(k="scaled.shape[-1]"))
    assert graded.failed_visible == {"top_k_keeps_the_k_most_likely", "the_same_draws_as_torch_multinomial"}
    assert graded.score == 10
    assert "Ids [2, 3, 4, 5] are outside the 2 largest logits and must never come out" in (
        graded.message("top_k_keeps_the_k_most_likely")
    )


def test_keeping_one_token_too_many_is_counted_for_the_student(exercise):
    graded = exercise.grade(sampler(k="top_k + 1"))
    assert "Ids [4] are outside the 2 largest logits" in graded.message("top_k_keeps_the_k_most_likely")
    assert "top_k_one_is_argmax" in graded.failed
