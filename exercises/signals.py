"""Events of the grading lifecycle, for whoever shows submissions live (the exercise pages)."""

from django.dispatch import Signal

# Sent with `submission_id` and its new `status` whenever a submission changes status.
submission_changed = Signal()


def send_submission_changed(submission_id: int, status: str) -> None:
    submission_changed.send(sender=None, submission_id=submission_id, status=status)
