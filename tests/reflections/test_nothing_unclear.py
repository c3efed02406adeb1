"""Answers that report no topic ("Nothing", "all good") against answers that name one after all.

Two lists of paraphrases, written for this project or taken from the real data's answers
(where the annotators' theme says which list an answer belongs to): the regular expression
this reader replaced (issue 12's audit) missed 17 of the first and caught 4 of the second.
"""

import pytest

from reflections.nothing_unclear import says_nothing_unclear

NOTHING_UNCLEAR = [
    "Nothing", "N/A", "n/a", "-", "...", "No", "Nope", "Nothing!", "None so far", "Nothing in particular",
    "Nothing comes to mind", "Nothing to report", "Can't think of anything", "None, thank you!",
    "I didn't find anything confusing", "I wasn't confused by anything", "Nothing confused me",
    "Nothing stood out as confusing", "Nothing really stood out as unclear", "nothing was unclear",
    "Nothing in todays class was confusing to me.", "nothing was too confusing in today's class",
    "I had no trouble with today's material", "I did not struggle much with the topics discussed today",
    "There was nothing I didn't understand", "No questions", "I have no questions", "no confusion today",
    "All good", "It was all pretty clear", "Everything made sense", "Everything was straightforward",
    "Everything was explained well", "everything is clear now", "I understood it all",
    "I think I understood everything", "I got everything, thanks", "Class today cleared up everything for me.",
    "Nothing, great lecture!", "Not really, it was all clear", "nothing, it was all clear",
    "Nothing really, it all made sense", "Nothing as of right now, most of it makes sense",
    "Nothing everything was self explanatory and very easy to understand",
    "Nothing was confusing, the lecture was just well paced",
    "Nothing was confusing today. All my issues were cleared up.",
    "Not much was too confusing as it was mostly a work day.",
    "Nothing. I got clarification on UDFs which was very helpful.",
    "Nothing really, excel is way easier than matlab",
    "I found nothing really confusing. The non linear modeling is interesting.",
]

NAMES_A_TOPIC = [
    "Everything was clear until the masking part",
    "Everything was clear, the attention part not so much",
    "Everything was clear except for the KV cache",
    "Everything made sense apart from beam search",
    "Everything was clear, only the sqrt(d_k) scaling confused me",
    "Everything was clear. Why do we divide by sqrt(d_k)?",
    "Nothing was confusing in the first half; the second half on LoRA lost me",
    "Nothing was confusing except the softmax temperature",
    "Nothing much, but the masking in the decoder",
    "Mostly clear, but the masking was not",
    "It made sense but I want more examples of beam search",
    "Nothing about attention made sense",
    "Nothing about positional encodings made sense to me",
    "Nothing is clear about backprop to me",
    "None of the softmax derivation was clear",
    "nothing was clear about positional encoding",
    "Nothing made sense after the break",
    "No idea what teacher forcing is",
    "No idea how the attention weights are computed",
    "Not clear on how the router picks experts",
    "not sure why we scale by sqrt(d_k)",
    "I didn't understand the KV cache",
    "I was lost during the LoRA part",
    "I understood nothing",
    "Everything", "All of it", "Everything was confusing",
    "The example problems were hard", "the top hat questions", "The demo was great", "Attention",
    "Why do we need the causal mask?", "?",
    # What the annotators of the real data filed under a topic, not under "No Confusion":
    "Waves just have some weird abnormalities, but otherwise things are pretty straightforward",
    "I found the part with communications for humans to be most interesting. It allowed me to further understand "
    "the lesson by relating to something we all do.",
    "Nothing was confusing really. I would have liked more practice problems rather than conceptual.",
    "I think everything was quite clear. I just need to get more comfortable with excel.",
]


@pytest.mark.parametrize("answer", NOTHING_UNCLEAR)
def test_it_recognises_a_paraphrase_of_nothing_unclear(answer):
    assert says_nothing_unclear(answer)


@pytest.mark.parametrize("answer", NAMES_A_TOPIC)
def test_it_keeps_an_answer_that_names_a_topic_or_a_difficulty(answer):
    assert not says_nothing_unclear(answer)
