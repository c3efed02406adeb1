"""The teacher-forcing exercise: the lesson's table, a padded batch, and the shifts and paddings people get wrong."""

FOLDER = "05-teacher-forcing"

# Build both rows with one padding helper; the wrong solutions change one line of it.
TEMPLATE = """
import torch

def padded(rows, value):
    longest = max(len(row) for row in rows)
    return torch.tensor([row + [value] * (longest - len(row)) for row in rows])

def teacher_forcing_batch(targets, start_id, eos_id, pad_id, ignore_index=-100):
    decoder_input_ids = padded([[start_id] + target for target in targets], {input_padding})
    labels = {labels}
    return decoder_input_ids, labels
"""


def solution(labels="padded([target + [eos_id] for target in targets], ignore_index)", input_padding="pad_id"):
    return TEMPLATE.replace("{labels}", labels).replace("{input_padding}", input_padding)


def test_the_reference_solution_gets_full_marks(exercise):
    graded = exercise.grade_file("solution.py")
    assert graded.score == graded.max_score == 9


def test_the_starter_gets_nothing(exercise):
    assert exercise.grade_file("starter.py").score == 0


def test_the_template_of_the_wrong_solutions_is_right_as_it_stands(exercise):
    assert exercise.grade(solution()).score == 9


def test_labels_equal_to_the_decoder_input_are_told_about_the_shift(exercise):
    graded = exercise.grade(solution(labels="decoder_input_ids.clone()"))
    assert graded.score == 0
    message = graded.message("lesson_sentence")
    assert message.startswith(
        "Your labels are [[212, 490, 1131, 3212, 2757]]. Your labels are the decoder input itself. Label t is the "
        "token that should come *after* decoder input t"
    )
    assert message.endswith(
        "For targets [[490, 1131, 3212, 2757]] and start_id=212, eos_id=5000, pad_id=0, expected\n"
        "decoder_input_ids = [[212, 490, 1131, 3212, 2757]]\nlabels = [[490, 1131, 3212, 2757, 5000]]"
    )


def test_labels_without_eos_are_told_to_append_it(exercise):
    graded = exercise.grade(solution(labels="padded(targets, ignore_index)"))
    assert graded.score == 0
    assert graded.message("a_padded_batch").startswith(
        "Your labels are [[490, 1131, 3212, 2757], [490, 1131, -100, -100], [22, 357, 12, -100]]. Your labels "
        "have no `<EOS>`: append it to every target, so the model learns to stop."
    )


def test_labels_padded_with_the_padding_id_are_told_to_use_the_ignore_index(exercise):
    graded = exercise.grade(solution(labels="padded([target + [eos_id] for target in targets], pad_id)"))
    assert graded.failed == {"a_padded_batch", "the_ids_you_are_given", "an_empty_target", "another_ignore_index",
                             "a_larger_batch"}
    assert graded.score == 2
    assert "Pad the labels with `ignore_index`, not `pad_id`" in graded.message("a_padded_batch")


def test_decoder_inputs_padded_with_the_ignore_index_are_told_it_is_not_a_token(exercise):
    graded = exercise.grade(solution(input_padding="ignore_index"))
    assert graded.test("lesson_sentence").passed
    assert graded.score == 2
    assert "Pad the decoder inputs with `pad_id`: they are token ids that go into the embedding layer" in (
        graded.message("a_padded_batch")
    )


def test_eos_written_after_the_padding_is_told_where_it_goes(exercise):
    graded = exercise.grade(solution(
        labels="torch.cat([padded(targets, ignore_index), torch.full((len(targets), 1), eos_id)], dim=1)"
    ))
    assert graded.test("lesson_sentence").passed
    assert "`<EOS>` comes right after each sentence's last token, before the padding" in (
        graded.message("a_padded_batch")
    )


def test_the_lessons_ids_written_into_the_code_are_caught(exercise):
    source = solution().replace("[start_id]", "[212]").replace("[eos_id]", "[5000]")
    graded = exercise.grade(source)
    assert graded.failed_visible == {"the_ids_you_are_given"}
    assert graded.score == 6
    assert graded.message("the_ids_you_are_given").startswith(
        "Your batch uses the lesson's ids (<s> = 212, <EOS> = 5000): use the `start_id`, `eos_id` and `pad_id`"
    )


def test_python_lists_are_told_to_become_tensors(exercise):
    source = solution().replace("return torch.tensor([row", "return ([row")
    graded = exercise.grade(source)
    assert graded.score == 0
    assert graded.message("lesson_sentence").startswith("Your decoder_input_ids is a list; expected a tensor.")
