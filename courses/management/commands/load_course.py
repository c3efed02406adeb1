"""`manage.py load_course PACK_DIR`: load or update a course from its pack, or only check it."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from courses.packs import PackInvalid, load_pack


class Command(BaseCommand):
    help = "Load or update a course from a course pack folder. Re-running it is safe."

    def add_arguments(self, parser):
        parser.add_argument("pack", type=Path, help="the pack folder, e.g. content/nlp2llm")
        parser.add_argument("--check", action="store_true", help="validate the pack without writing anything")
        parser.add_argument("--owner", help="username to make an instructor of the course")
        parser.add_argument(
            "--no-test-run", action="store_true",
            help="do not grade each exercise's solution and starter in the sandbox (for a machine that "
            "cannot sandbox; it cannot grade either)",
        )

    def handle(self, pack: Path, check: bool, owner: str | None, no_test_run: bool, **options):
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"no user named {owner!r}; create it first (manage.py createsuperuser)")
        try:
            report = load_pack(pack, check_only=check, owner=owner_user, verify=not no_test_run)
        except PackInvalid as invalid:
            count = len(invalid.problems)
            for problem in invalid.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{pack}: refused, {count} problem{'s' if count != 1 else ''}; nothing was written"
            ) from None
        if check:
            self.stdout.write(self.style.SUCCESS(f"{pack}: valid, nothing written"))
        else:
            self.stdout.write(self.style.SUCCESS(f"{pack}: loaded course {report.course.title!r}"))
        for line in report.lines():
            self.stdout.write(f"  {line}")
        if no_test_run:
            self.stdout.write(self.style.WARNING("  the exercises' tests were not run (--no-test-run)"))
