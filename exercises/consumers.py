"""Pushes a submission's status changes to the page that shows it (queued -> running -> verdict)."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from attentive.broadcast import group_send
from courses.models import Membership

from .models import Submission


def group_name(submission_id: int) -> str:
    return f"submission-{submission_id}"


def announce_change(submission_id: int, status: str, **_kwargs) -> None:
    """Receiver of exercises.signals.submission_changed: tell the pages watching it."""
    group_send(group_name(submission_id), {"type": "submission.changed", "status": str(status)})


@database_sync_to_async
def visible_status(user, submission_id: int) -> str | None:
    """The submission's status if this user may watch it (its owner or the course's staff)."""
    submission = Submission.objects.filter(pk=submission_id).select_related("exercise").first()
    if submission is None or not user.is_authenticated:
        return None
    if submission.user_id != user.pk:
        membership = Membership.objects.filter(user=user, course_id=submission.exercise.course_id).first()
        if membership is None or not membership.is_staff:
            return None
    return submission.status


class SubmissionConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.submission_id = int(self.scope["url_route"]["kwargs"]["submission_id"])
        status = await visible_status(self.scope["user"], self.submission_id)
        if status is None:
            await self.close(code=4404)
            return
        await self.channel_layer.group_add(group_name(self.submission_id), self.channel_name)
        await self.accept()
        # A snapshot on every (re)connect: group messages sent while we were away are lost.
        await self.send_json({"id": self.submission_id, "status": status})

    async def disconnect(self, code):
        if hasattr(self, "submission_id"):
            await self.channel_layer.group_discard(group_name(self.submission_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        """Clients only listen; anything they send is ignored."""

    async def submission_changed(self, event):
        await self.send_json({"id": self.submission_id, "status": event["status"]})
