"""The greedy-decoding exercise: the toy translator decoded until <EOS>, and the loops that go wrong."""

FOLDER = "06-greedy-decoding"

LOOP = """
import torch

def greedy_decode(model, source_ids, start_id, eos_id, max_length=20):
    source = torch.tensor([source_ids])
    memory = model.encode(source)
    generated = [start_id]
    for _ in range({steps}):
        logits = model.decode_step(memory, torch.tensor([{decoder_input}]), source)
        next_id = int(logits[0].argmax())
        {stop}
    return {output}
"""

APPEND_THEN_STOP = "generated.append(next_id)\n        if next_id == eos_id:\n            break"


def loop(steps="max_length", decoder_input="generated", stop=APPEND_THEN_STOP, output="generated[1:]"):
    return (
        LOOP.replace("{steps}", steps).replace("{decoder_input}", decoder_input).replace("{stop}", stop)
        .replace("{output}", output)
    )


def test_the_reference_solution_gets_full_marks(exercise):
    graded = exercise.grade_file("solution.py")
    assert graded.score == graded.max_score == 12


def test_the_starter_gets_nothing(exercise):
    assert exercise.grade_file("starter.py").score == 0


def test_the_loop_of_the_wrong_solutions_is_right_as_it_stands(exercise):
    assert exercise.grade(loop()).score == 12


def test_a_loop_that_does_not_stop_at_eos_is_told_where_eos_came(exercise):
    graded = exercise.grade(loop(stop="generated.append(next_id)"))
    assert graded.failed_visible == {"stops_at_eos", "reads_everything_written_so_far", "the_eos_id_you_are_given"}
    assert graded.test("stops_after_max_length").passed
    assert graded.score == 4
    message = graded.message("stops_at_eos")
    assert message.startswith(
        "greedy_decode(model, [4, 5, 6, 7, 39], start_id=1, eos_id=2, max_length=20) returned [29, 17, 39, 26, 2, "
    )
    assert message.endswith(
        "expected [29, 17, 39, 26, 2]. The model wrote `<EOS>` (id 2) at step 5, but your loop went on: stop as "
        "soon as the id you append is `eos_id`."
    )


def test_a_loop_that_drops_eos_is_told_to_keep_it(exercise):
    graded = exercise.grade(loop(stop="if next_id == eos_id:\n            break\n        generated.append(next_id)"))
    assert graded.message("stops_at_eos") == (
        "greedy_decode(model, [4, 5, 6, 7, 39], start_id=1, eos_id=2, max_length=20) returned [29, 17, 39, 26]; "
        "expected [29, 17, 39, 26, 2]. Keep `<EOS>` (id 2) as the last id of the output: it says the model chose "
        "to stop."
    )


def test_a_decoder_fed_only_the_last_token_is_told_to_feed_back_everything(exercise):
    graded = exercise.grade(loop(decoder_input="generated[-1:]"))
    assert graded.score == 3
    assert graded.message("reads_everything_written_so_far").endswith(
        "Your decoder reads only the last token at each step. Feed back the whole sequence written so far, `<s>` "
        "included: the decoder input grows by one token per step."
    )


def test_an_output_that_keeps_the_start_token_is_told_to_leave_it_out(exercise):
    graded = exercise.grade(loop(output="generated"))
    assert graded.score == 0
    assert graded.message("stops_at_eos").endswith(
        "Leave `<s>` (id 1) out of the output: return only the generated ids."
    )


def test_one_step_too_few_is_told_to_count_max_length_tokens(exercise):
    graded = exercise.grade(loop(steps="max_length - 1"))
    assert graded.failed == {"stops_after_max_length", "max_length_one", "another_start_id"}
    assert graded.score == 8
    assert graded.message("stops_after_max_length").endswith(
        "The model never wrote `<EOS>`, so the loop must stop after exactly max_length = 6 generated tokens, not 5."
    )


def test_an_eos_written_into_the_code_is_caught(exercise):
    graded = exercise.grade(loop(stop=APPEND_THEN_STOP.replace("eos_id", "2")))
    assert graded.failed == {"the_eos_id_you_are_given"}
    assert graded.score == 11
    assert "The model wrote `<EOS>` (id 31) at step 2, but your loop went on" in (
        graded.message("the_eos_id_you_are_given")
    )


def test_ids_left_as_0_d_tensors_are_accepted(exercise):
    # The statement asks for ints; 0-d tensors holding the right ids are not worth a penalty.
    graded = exercise.grade(loop(stop=APPEND_THEN_STOP.replace("append(next_id)", "append(logits[0].argmax())")))
    assert graded.score == 12
