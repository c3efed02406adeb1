"""Forms of the LLM-comparison homework."""

from django import forms

from reflections.forms import DateTimeLocalInput

from .models import CriterionProposal, TableEntry, http_url, points_text


class ProposalForm(forms.ModelForm):
    class Meta:
        model = CriterionProposal
        fields = ["name", "definition", "how_to_measure"]
        labels = {"name": "Criterion", "definition": "What it means", "how_to_measure": "How to measure it"}
        help_texts = {
            "name": "A few words, e.g. “Context window”.",
            "how_to_measure": "Where and how one finds the value, so that everybody measures it the same way.",
        }
        widgets = {"definition": forms.Textarea(attrs={"rows": 2}), "how_to_measure": forms.Textarea(attrs={"rows": 2})}


class CriterionForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120, required=False)
    definition = forms.CharField(label="Definition", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    how_to_measure = forms.CharField(label="How to measure", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SettingsForm(forms.Form):
    deadline = forms.DateTimeField(
        label="Deadline for the table", required=False, widget=DateTimeLocalInput(),
        help_text="Students fill in their row until then; afterwards they all see the whole table.",
    )


class ModelForm(forms.Form):
    name = forms.CharField(label="Model", max_length=120)
    maker = forms.CharField(label="Made by", max_length=120, required=False)


class RowForm(forms.Form):
    """A value and a source link for each criterion of the student's model."""

    def __init__(self, criteria, entries: dict, *args, disabled: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        self.entries = entries
        for criterion in criteria:
            entry = entries.get(criterion.pk)
            self.fields[f"value_{criterion.pk}"] = forms.CharField(
                label=f"{criterion.name}: value", max_length=500, required=False, disabled=disabled,
                initial=entry.value if entry else "",
            )
            self.fields[f"source_{criterion.pk}"] = forms.CharField(
                label=f"{criterion.name}: source link", max_length=800, required=False, disabled=disabled,
                initial=entry.source_url if entry else "",
                widget=forms.URLInput(attrs={"placeholder": "https://…", "inputmode": "url"}),
            )

    def clean(self):
        cleaned = super().clean()
        for criterion in self.criteria:
            value_key, source_key = f"value_{criterion.pk}", f"source_{criterion.pk}"
            value, source = cleaned.get(value_key, "").strip(), cleaned.get(source_key, "").strip()
            if value and not source:
                self.add_error(source_key, "Add the link where you found this value.")
            elif source and not value:
                self.add_error(value_key, "Give the value you found at this link.")
            elif source:
                try:
                    http_url(source)
                except forms.ValidationError:
                    self.add_error(source_key, "Give a full web address starting with https:// (or http://).")
            cleaned[value_key], cleaned[source_key] = value, source
        return cleaned

    def cells(self) -> dict[int, tuple[str, str]]:
        return {c.pk: (self.cleaned_data[f"value_{c.pk}"], self.cleaned_data[f"source_{c.pk}"]) for c in self.criteria}

    def rows(self):
        """(criterion, value field, source field, the saved entry or None) per criterion."""
        return [
            (criterion, self[f"value_{criterion.pk}"], self[f"source_{criterion.pk}"], self.entries.get(criterion.pk))
            for criterion in self.criteria
        ]


class ReviewForm(forms.Form):
    status = forms.ChoiceField(choices=TableEntry.Status.choices)
    comment = forms.CharField(required=False, max_length=2000)


class GradeForm(forms.Form):
    feedback = forms.CharField(
        label="Feedback to the student", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, max_points, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["points"] = forms.DecimalField(
            label="Points", min_value=0, max_value=max_points, max_digits=6, decimal_places=2,
            help_text=f"Out of {points_text(max_points)}.",
        )
        self.order_fields(["points", "feedback"])
