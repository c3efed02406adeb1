"""`manage.py unlock_account USERNAME`: lift a sign-in lockout (an instructor can also do it on the People page)."""

from django.core.management.base import BaseCommand

from frontdoor import throttle
from frontdoor.signin import account_key


class Command(BaseCommand):
    help = "Lift the sign-in lockout of an account, or of an address with --address."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the username (or, with --address, the network address)")
        parser.add_argument("--address", action="store_true", help="unlock a network address instead")

    def handle(self, name: str, address: bool, **options):
        if address:
            lifted = throttle.clear(throttle.rule("login-address"), name)
        else:
            lifted = throttle.clear(throttle.rule("login-account"), account_key(name))
        what = f"address {name}" if address else f"account {name!r}"
        self.stdout.write(f"Unlocked {what}." if lifted else f"The {what} was not locked; its failures are forgotten.")
