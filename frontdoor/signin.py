"""Sign-in with throttling: the site's login page and the admin's share these forms."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS

from . import throttle


def account_key(username: str) -> str:
    """One counter for 'Alice', 'alice' and ' alice ': they are one account to a guesser."""
    return username.strip().casefold()


def lockout_message(rule: throttle.Rule, until) -> str:
    if rule.scope == "login-account":
        return (
            f"This account is locked after {rule.limit} failed sign-ins: try again at {throttle.when(until)}. "
            "A student can ask an instructor of their course to unlock it sooner "
            "(People page of the course, Unlock sign-in)."
        )
    return (
        f"Too many failed sign-ins from your network address: signing in from it is paused until "
        f"{throttle.when(until)}. Try again then."
    )


class ThrottledSignInMixin:
    """Refuses a locked account or address before the password is even hashed, counts wrong
    passwords per account and per address, and forgets the account's failures on success."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()
        checks = [
            (throttle.rule("login-account"), account_key(username)),
            (throttle.rule("login-address"), throttle.client_address(self.request)),
        ]
        locked = throttle.first_lock(checks)
        if locked:
            raise forms.ValidationError(lockout_message(*locked), code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                if lock := throttle.record_failures(checks):
                    raise forms.ValidationError(lockout_message(*lock), code="locked") from None
            raise
        throttle.clear(checks[0][0], checks[0][1])
        return cleaned


class ThrottledAuthenticationForm(ThrottledSignInMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledSignInMixin, AdminAuthenticationForm):
    pass


class ThrottledLoginView(LoginView):
    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, code="locked"):
            response.status_code = 429
        return response
