from django.contrib import admin

from .models import Draft, Exercise, Regrade, Submission, WorkerHeartbeat


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "lesson", "kind", "max_score", "due_at", "archived"]
    list_filter = ["course", "kind", "archived"]
    search_fields = ["title", "pack_id", "slug"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "exercise", "number", "status", "score", "max_score", "submitted_at", "attempts"]
    list_filter = ["status", "exercise__course", "is_staff_test"]
    search_fields = ["user__username", "exercise__title"]
    raw_id_fields = ["user", "exercise", "overridden_by", "reviewed_by", "regrade"]
    readonly_fields = ["verdict", "exercise_version", "claimed_at", "heartbeat_at", "graded_at", "enqueued_at"]


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    list_display = ["user", "exercise", "updated_at"]
    raw_id_fields = ["user", "exercise"]


@admin.register(Regrade)
class RegradeAdmin(admin.ModelAdmin):
    list_display = ["exercise", "requested_by", "created_at", "total"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "seen_at", "ready", "problem"]
