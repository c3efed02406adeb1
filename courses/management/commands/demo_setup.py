"""`manage.py demo_setup`: load the demo course pack and create demo accounts, idempotently."""

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
        parser.add_argument(
            "--allow-production", action="store_true", help="create the accounts even when DEBUG is off"
        )

    def handle(self, pack: Path, allow_production: bool, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "demo accounts have a published password; refusing with DEBUG off (use --allow-production)"
            )
        verify = self._can_sandbox()
        with transaction.atomic():
            instructor = self._user(*DEMO_INSTRUCTOR)
            try:
                report = load_pack(pack, owner=instructor, verify=verify)
            except PackInvalid as invalid:
                raise CommandError(f"the demo pack is invalid:\n{invalid}") from None
            for username, name in DEMO_STUDENTS:
                student = self._user(username, name)
                Membership.objects.get_or_create(
                    user=student, course=report.course, defaults={"role": Membership.Role.STUDENT}
                )
        self.stdout.write(f"Demo course: {report.course.title} (join code {report.course.join_code})")
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r} for all):")
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

    def _user(self, username: str, name: str):
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"first_name": name, "email": f"{username}@example.org"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user
