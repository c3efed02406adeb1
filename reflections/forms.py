"""Forms for answering, for the reflection window and for importing answers."""

from django import forms

from courses.text import normalized_line_endings

from .models import ReflectionPrompt
from .services import MAX_ANSWER_LENGTH


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class TextAreaField(forms.CharField):
    """A text area's text, its line breaks counted once each, as the browser's maxlength counts them."""

    def to_python(self, value):
        return normalized_line_endings(super().to_python(value))


class ReflectionForm(forms.Form):
    """One text box per prompt; a box left empty removes that answer."""

    def __init__(self, prompts: list[ReflectionPrompt], answers: dict, *args, disabled: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.prompts = prompts
        self.answers = answers
        for prompt in prompts:
            answer = answers.get(prompt.pk)
            self.fields[self.field_name(prompt)] = TextAreaField(
                label=prompt.text,
                required=False,
                max_length=MAX_ANSWER_LENGTH,
                initial=answer.text if answer else "",
                disabled=disabled,
                help_text=(
                    "Your instructor sees your answer but not your name."
                    if prompt.anonymous else "Your instructor sees your name with this answer."
                ),
                widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_ANSWER_LENGTH}),
            )

    @staticmethod
    def field_name(prompt: ReflectionPrompt) -> str:
        return f"prompt_{prompt.pk}"

    def texts(self) -> dict[int, str]:
        return {prompt.pk: self.cleaned_data.get(self.field_name(prompt), "") for prompt in self.prompts}

    def sections(self) -> list[tuple[str, list]]:
        """The bound fields grouped under their pack section titles, in order."""
        grouped: list[tuple[str, list]] = []
        for prompt in self.prompts:
            field = self[self.field_name(prompt)]
            field.prompt = prompt
            field.answer = self.answers.get(prompt.pk)
            if not grouped or grouped[-1][0] != prompt.section:
                grouped.append((prompt.section, []))
            grouped[-1][1].append(field)
        return grouped


class WindowForm(forms.Form):
    opens_at = forms.DateTimeField(label="Opens at", required=False, widget=DateTimeLocalInput())
    closes_at = forms.DateTimeField(
        label="Closes at", required=False, widget=DateTimeLocalInput(),
        help_text="Leave empty to close it yourself.",
    )


class ImportForm(forms.Form):
    prompt = forms.ModelChoiceField(queryset=ReflectionPrompt.objects.none(), label="Into the prompt")
    file = forms.FileField(label="CSV file", help_text="UTF-8, with a header row. Up to 5 MB.")
    column = forms.CharField(label="Column with the answers", initial="answer", max_length=200)
    name_column = forms.CharField(
        label="Column with names (optional)", required=False, max_length=200,
        help_text="Ignored for anonymous prompts: their answers are stored without names.",
    )

    MAX_BYTES = 5 * 1024 * 1024

    def __init__(self, lesson, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prompt"].queryset = ReflectionPrompt.objects.filter(lesson=lesson, archived=False)
        self.fields["prompt"].label_from_instance = lambda prompt: prompt.text

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB: split it into smaller files.")
        return upload
