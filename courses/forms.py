"""Forms for accounts and courses."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.text import slugify

from .models import Course, normalize_join_code


class SignupForm(UserCreationForm):
    email = forms.EmailField(help_text="Used only to reset your password.")
    first_name = forms.CharField(label="Name", max_length=150, help_text="As your instructor will see it.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "first_name", "email")

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account already uses this e-mail address. Sign in, or reset its password.")
        return email


class JoinForm(forms.Form):
    code = forms.CharField(
        label="Course code",
        max_length=32,
        help_text="Eight letters and digits, given by your instructor.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )

    def clean_code(self):
        code = normalize_join_code(self.cleaned_data["code"])
        course = Course.objects.filter(join_code=code).first()
        if course is None:
            raise forms.ValidationError("No course has this code. Check it with your instructor.", code="unknown")
        if not course.joining_open:
            raise forms.ValidationError("This course is not accepting new members. Ask your instructor.")
        self.course = course
        return code


class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ("title", "slug", "description")
        help_texts = {
            "slug": "The last part of the course's address. Lower-case letters, digits and dashes; "
            "made from the title if left empty.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def clean_slug(self):
        slug = self.cleaned_data.get("slug") or slugify(self.cleaned_data.get("title", ""))[:80]
        if not slug:
            raise forms.ValidationError("Give the course a title or an address.")
        if Course.objects.filter(slug=slug).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"The address {slug!r} is taken; choose another.")
        return slug
