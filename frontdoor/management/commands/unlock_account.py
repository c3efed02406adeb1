"""`manage.py unlock_account USERNAME` (or `--address ADDRESS`): lift a person's or an address's locks.

An instructor lifts their students' locks on the course's People page; this command, like the
admin's Throttles page, is for the site's administrators, and lifts any lock.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from frontdoor import throttle
from frontdoor.signin import account_key


class Command(BaseCommand):
    help = ("Lift every lock of an account (wrong passwords from any address, wrong course codes), or with "
            "--address every lock of a network address (sign-in, course codes, game PINs; an IPv6 address "
            "stands for its /64).")

    def add_arguments(self, parser):
        parser.add_argument("name", help="the username (or, with --address, the network address)")
        parser.add_argument("--address", action="store_true", help="unlock a network address instead")

    def handle(self, name: str, address: bool, **options):
        if address:
            lifted = throttle.lift_address(name)
            what = f"address {throttle.address_group(name)}"
        else:
            user = get_user_model().objects.filter(username__iexact=name.strip()).first()
            lifted = throttle.lift_account(account_key(name), user.pk if user else None)
            what = f"account {name!r}"
        self.stdout.write(f"Unlocked {what}." if lifted else f"The {what} was not locked; its failures are forgotten.")
