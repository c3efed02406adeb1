"""Forms: the quiz editor, Kahoot import, game options, and joining a game."""

from __future__ import annotations

from django import forms

from .images import ALLOWED, ImageInvalid, check_image, check_image_file
from .kinds import KINDS, MAX_CHOICES, SpecProblem
from .models import MAX_TIME_LIMIT, MIN_TIME_LIMIT, Points, Question, Quiz
from .nicknames import MAX_NICKNAME_LENGTH, NicknameInvalid, clean_nickname
from .services.teams import MAX_TEAMS


class QuizForm(forms.ModelForm):
    class Meta:
        model = Quiz
        fields = ("title", "description", "lesson")
        help_texts = {"lesson": "The lesson page offers to start this quiz (optional)."}

    def __init__(self, *args, course, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lesson"].queryset = course.active_lessons()
        self.fields["lesson"].required = False
        self.fields["description"].widget.attrs["rows"] = 3


class QuestionForm(forms.Form):
    """One form for every kind; only the kind's own fields are shown and checked."""

    text = forms.CharField(
        label="Question", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown; write math as $x^2$ or $$\\sum_k y_k$$.",
    )
    time_limit = forms.IntegerField(
        label="Time limit (seconds)", min_value=MIN_TIME_LIMIT, max_value=MAX_TIME_LIMIT, initial=20,
        help_text=f"{MIN_TIME_LIMIT} to {MAX_TIME_LIMIT} seconds.",
    )
    points = forms.ChoiceField(choices=Points.choices, initial=Points.STANDARD)
    image = forms.FileField(required=False, help_text=f"Optional: {ALLOWED}, at most 2 MB.")
    remove_image = forms.BooleanField(required=False, label="Remove the image")

    accepted = forms.CharField(
        label="Accepted answers", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line. Case and accents are ignored: “Encoder” matches “encoder”.",
    )
    answer_true = forms.TypedChoiceField(
        label="The statement is", required=False, choices=[("true", "True"), ("false", "False")],
        coerce=lambda value: value == "true", widget=forms.RadioSelect,
    )
    keep_order = forms.BooleanField(
        label="Keep the answers in this order", required=False,
        help_text="Players see the answers shuffled, in a new order every game, unless you tick this "
                  "(for “all of the above” or a scale).",
    )
    slider_min = forms.FloatField(label="Smallest value", required=False)
    slider_max = forms.FloatField(label="Largest value", required=False)
    slider_step = forms.FloatField(label="Step", required=False, initial=1)
    slider_answer = forms.FloatField(label="Right value", required=False)
    slider_tolerance = forms.FloatField(label="Tolerance (±)", required=False, initial=0)
    slider_unit = forms.CharField(label="Unit (optional)", required=False, max_length=20)

    def __init__(self, *args, kind: str, question: Question | None = None, **kwargs):
        self.kind_handler = KINDS[kind]
        if question is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(question)
        super().__init__(*args, **kwargs)
        self.question = question
        for number in range(1, MAX_CHOICES + 1):
            self.fields[f"choice_{number}"] = forms.CharField(label=f"Answer {number}", required=False, max_length=120)
            self.fields[f"correct_{number}"] = forms.BooleanField(label=f"Answer {number} is right", required=False)
        if question is None or question.image_id is None:
            del self.fields["remove_image"]

    @staticmethod
    def initial_from(question: Question) -> dict:
        spec = question.spec
        initial = {"text": question.text, "time_limit": question.time_limit, "points": question.points}
        texts = spec.get("items") or [choice["text"] for choice in spec.get("choices", [])]
        for number, text in enumerate(texts, start=1):
            initial[f"choice_{number}"] = text
        for number, choice in enumerate(spec.get("choices", []), start=1):
            initial[f"correct_{number}"] = choice.get("correct", False)
        initial["keep_order"] = spec.get("shuffle", True) is False
        if question.kind == "true_false":
            initial["answer_true"] = "true" if spec["answer"] else "false"
        if question.kind == "type_answer":
            initial["accepted"] = "\n".join(spec["accepted"])
        if question.kind == "slider":
            for key in ("min", "max", "step", "answer", "tolerance", "unit"):
                initial[f"slider_{key}"] = spec[key]
        return initial

    @property
    def uses_choices(self) -> bool:
        return self.kind_handler.name in ("single", "multiple", "poll", "ordering")

    @property
    def marks_correct(self) -> bool:
        return self.kind_handler.name in ("single", "multiple")

    @property
    def shuffles_choices(self) -> bool:
        return self.kind_handler.name in ("single", "multiple", "poll")

    def choice_rows(self) -> list[tuple]:
        return [(self[f"choice_{number}"], self[f"correct_{number}"]) for number in range(1, MAX_CHOICES + 1)]

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if not upload:
            return None
        try:
            check_image_file(upload.name, upload.size)  # before a byte is read
            return check_image(upload.name, upload.read())
        except ImageInvalid as invalid:
            raise forms.ValidationError(str(invalid)) from None

    def clean(self):
        cleaned = super().clean()
        name = self.kind_handler.name
        if name in ("single", "multiple", "poll"):
            raw = {"choices": [
                {"text": cleaned.get(f"choice_{number}", ""), "correct": bool(cleaned.get(f"correct_{number}"))}
                for number in range(1, MAX_CHOICES + 1) if cleaned.get(f"choice_{number}", "").strip()
            ], "shuffle": not cleaned.get("keep_order")}
        elif name == "ordering":
            raw = {"items": [cleaned[f"choice_{number}"] for number in range(1, MAX_CHOICES + 1)
                             if cleaned.get(f"choice_{number}", "").strip()]}
        elif name == "true_false":
            raw = {"answer": cleaned.get("answer_true") if cleaned.get("answer_true") in (True, False) else None}
        elif name == "type_answer":
            raw = {"accepted": [line.strip() for line in cleaned.get("accepted", "").splitlines() if line.strip()]}
        elif name == "slider":
            raw = {key: cleaned.get(f"slider_{key}") for key in ("min", "max", "step", "answer", "tolerance")}
            raw["unit"] = cleaned.get("slider_unit", "")
            raw = {key: value for key, value in raw.items() if value is not None}
        else:
            raw = {}
        try:
            self.spec = self.kind_handler.clean(raw)
        except SpecProblem as problem:
            if name == "slider":
                field = f"slider_{problem.field}"
            elif name == "true_false":
                field = "answer_true"
            else:
                field = {"choices": "choice_1", "items": "choice_1", "accepted": "accepted"}.get(problem.field)
            message = problem.message[0].upper() + problem.message[1:] + "."
            self.add_error(field if field in self.fields else None, message)
        return cleaned


class KahootImportForm(forms.Form):
    file = forms.FileField(label="Kahoot spreadsheet (.xlsx)",
                           help_text="Kahoot's quiz template: one question per row, correct answers as 2 or 2,4.")
    title = forms.CharField(max_length=200, required=False, help_text="Made from the file name if left empty.")


class GameOptionsForm(forms.Form):
    speed_points = forms.BooleanField(
        label="Speed points", required=False, initial=True,
        help_text="Faster right answers earn more (Kahoot's rule). Off: every right answer earns the full points.",
    )
    auto_advance = forms.BooleanField(
        label="Auto-advance", required=False,
        help_text="Show each answer and the scoreboard for 5 seconds, then go on by itself.",
    )
    reading_seconds = forms.IntegerField(
        label="Reading time (seconds)", min_value=0, max_value=20, initial=5,
        help_text="The question is shown this long before answers open.",
    )
    team_mode = forms.BooleanField(label="Team mode", required=False,
                                   help_text="Players are shared out into teams; a team scores its members' mean.")
    team_count = forms.IntegerField(label="Number of teams", min_value=2, max_value=MAX_TEAMS, initial=2)
    accounts_only = forms.BooleanField(
        label="Course accounts only", required=False,
        help_text="Only members of the course can join, from their accounts; every score goes to the gradebook.",
    )
    extra_time_factor = forms.TypedChoiceField(
        label="Extra time", coerce=float, initial="1.5",
        choices=[("1.25", "+25%"), ("1.5", "+50%"), ("2.0", "Double time")],
        help_text="For the players you give extra time to, in the lobby.",
    )


class PinForm(forms.Form):
    pin = forms.CharField(label="Game PIN", max_length=12, widget=forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True, "pattern": "[0-9 ]*"}))


class NicknameForm(forms.Form):
    nickname = forms.CharField(
        label="Nickname", max_length=MAX_NICKNAME_LENGTH * 2,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "words", "spellcheck": "false",
                                      "maxlength": MAX_NICKNAME_LENGTH}),
        help_text="Shown on the projector.",
    )

    def clean_nickname(self):
        try:
            return clean_nickname(self.cleaned_data["nickname"])
        except NicknameInvalid as invalid:
            raise forms.ValidationError(str(invalid)) from None
