"""`manage.py demo_setup`: load the demo course pack and create demo accounts, idempotently.

The demo accounts' password is published in the README. That is safe only where nobody else can
reach the site: with DEBUG on (a developer's machine), or with `--local` (`make run`, which
listens on 127.0.0.1). `--classroom` (`make run LAN=1`, the site open to the room's network)
gives every demo account a fresh random password instead, printed on this terminal only, so
that no student signs in as the instructor and runs the game.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from courses.models import Membership
from courses.packs import PackInvalid, load_pack

DEMO_PACK = Path(settings.BASE_DIR) / "content" / "nlp2llm"
DEMO_INSTRUCTOR = ("teacher", "Joseba (demo instructor)")
DEMO_STUDENTS = [("alice", "Alice Martin"), ("bob", "Bob Nguyen"), ("chloe", "Chloé Dubois")]
DEMO_PASSWORD = "attentive-demo"  # noqa: S105 (published on purpose: demo accounts only)


class Command(BaseCommand):
    help = "Load the demo course and create an instructor and three students (for trying Attentive)."

    def add_arguments(self, parser):
        parser.add_argument("--pack", type=Path, default=DEMO_PACK)
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--local", action="store_true",
                           help="the site listens on this machine only: the published password is safe")
        where.add_argument("--classroom", action="store_true",
                           help="the site is open to the room's network: a fresh random password, printed here")
        where.add_argument("--allow-production", action="store_true",
                           help="the published password even with DEBUG off, on a site others can reach")

    def handle(self, pack: Path, local: bool, classroom: bool, allow_production: bool, **options):
        if not (settings.DEBUG or local or classroom or allow_production):
            raise CommandError(
                "demo accounts have a published password; refusing with DEBUG off. Use --local if the site "
                "listens on this machine only, --classroom for a fresh password, or --allow-production"
            )
        password = secrets.token_urlsafe(9) if classroom else DEMO_PASSWORD
        verify = self._can_sandbox()
        with transaction.atomic():
            instructor = self._user(*DEMO_INSTRUCTOR, password=password)
            try:
                report = load_pack(pack, owner=instructor, verify=verify)
            except PackInvalid as invalid:
                raise CommandError(f"the demo pack is invalid:\n{invalid}") from None
            for username, name in DEMO_STUDENTS:
                student = self._user(username, name, password=password)
                Membership.objects.get_or_create(
                    user=student, course=report.course, defaults={"role": Membership.Role.STUDENT}
                )
        self.stdout.write(f"Demo course: {report.course.title} (join code {report.course.join_code})")
        if classroom:
            self.stdout.write(self.style.WARNING(
                f"Demo logins, for this session only (password {password!r} for all; the README's published "
                "password no longer works, since the room can reach this site):"
            ))
        else:
            self.stdout.write(f"Demo logins (password {password!r} for all):")
        self.stdout.write(f"  instructor: {DEMO_INSTRUCTOR[0]}")
        self.stdout.write(f"  students:   {', '.join(username for username, _ in DEMO_STUDENTS)}")

    def _can_sandbox(self) -> bool:
        """Whether this machine can run the exercises' tests; if not, say so and load anyway.

        The site works without a sandbox (lessons, quizzes, reflections); grading does not, and
        the exercise pages and the worker's log say why.
        """
        from graders import engine

        try:
            engine.sandbox_pool()
        except engine.GradingUnavailable as unavailable:
            self.stderr.write(self.style.WARNING(
                f"This machine cannot sandbox student code ({unavailable}).\n"
                "The demo course is loaded without testing its exercises, and submissions will wait "
                "ungraded. See the README, 'Exercises and grading', for what the sandbox needs."
            ))
            return False
        return True

    def _user(self, username: str, name: str, *, password: str):
        """The demo account, with `password`: the printed login must be the one that works."""
        user, _created = get_user_model().objects.get_or_create(
            username=username, defaults={"first_name": name, "email": f"{username}@example.org"}
        )
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        return user
