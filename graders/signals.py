"""Events of the grading lifecycle, for whoever shows submissions live (the exercise pages)."""

from django.dispatch import Signal

# Sent with `submission_id` whenever a submission changes status (claimed, graded, failed).
submission_changed = Signal()


def send_submission_changed(submission_id: int) -> None:
    submission_changed.send(sender=None, submission_id=submission_id)
