"""Sign-in with throttling: the site's login page and the admin's share these forms.

Three counters (frontdoor/throttle.py says why): the account tried from this address (a few
failures lock it from here), the account alone (many failures, from several networks, lock it
everywhere) and the address (failures for many accounts stop, from it, the accounts that have
failed there). A right password forgets its address's failures for the account.
"""

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, PasswordResetConfirmView
from django.core.exceptions import NON_FIELD_ERRORS

from . import throttle

WHO_UNLOCKS = (
    "An instructor of your course can lift it sooner (course page, People, Unlock sign-in), and so can the "
    "site's administrators; or reset your password (Forgot your password?), which lifts it too."
)


def account_key(username: str) -> str:
    """One counter for 'Alice', 'alice' and ' alice ': they are one account to a guesser."""
    return username.strip().casefold()


@dataclass(frozen=True)
class SignInKeys:
    account: str
    address: str

    @property
    def pair(self) -> str:
        return throttle.pair_key(self.account, self.address)

    def counted(self) -> list[tuple[throttle.Rule, str]]:
        return [(throttle.rule("login-pair"), self.pair), (throttle.rule("login-account"), self.account),
                (throttle.rule("login-address"), self.address)]


def lock_on(keys: SignInKeys) -> tuple[str, datetime] | None:
    """(which lock, until when) if this account may not sign in from this address now."""
    for scope, key in (("login-pair", keys.pair), ("login-account", keys.account)):
        if until := throttle.locked_until(throttle.rule(scope), key):
            return scope, until
    # The address's lock stops only the accounts that have failed from it.
    if throttle.failures(throttle.rule("login-pair"), keys.pair):
        if until := throttle.locked_until(throttle.rule("login-address"), keys.address):
            return "login-address", until
    return None


def lockout_message(scope: str, until: datetime) -> str:
    when = throttle.when(until)
    if scope == "login-pair":
        limit = throttle.rule("login-pair").limit
        return (f"Too many wrong passwords for this account from your network ({limit}): signing in to it from "
                f"here is paused until {when}. {WHO_UNLOCKS}")
    if scope == "login-account":
        limit = throttle.rule("login-account").limit
        return (f"This account is locked after {limit} failed sign-ins from several networks: try again at "
                f"{when}. {WHO_UNLOCKS}")
    return (f"Too many failed sign-ins from your network address, for several accounts: an account with a wrong "
            f"password from here is paused until {when} (accounts signed in without a mistake are not). "
            f"{WHO_UNLOCKS}")


class ThrottledSignInMixin:
    """Refuses a locked account before the password is even hashed, counts a wrong password on
    every key, and forgets this address's failures for the account on success."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()
        keys = SignInKeys(account_key(username), throttle.client_address(self.request))
        if locked := lock_on(keys):
            raise forms.ValidationError(lockout_message(*locked), code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                throttle.record_failures(keys.counted())
                if locked := lock_on(keys):
                    raise forms.ValidationError(lockout_message(*locked), code="locked") from None
            raise
        throttle.clear(throttle.rule("login-pair"), keys.pair)
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


class UnlockingPasswordResetConfirmView(PasswordResetConfirmView):
    """A new password set from the e-mailed link lifts the account's locks: whoever guessed
    the old one gains nothing, and the owner need not wait or ask anyone."""

    def form_valid(self, form):
        response = super().form_valid(form)
        throttle.lift_account(account_key(form.user.get_username()), form.user.pk)
        return response
