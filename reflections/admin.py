from django.contrib import admin

from .models import ReflectionAnswer, ReflectionPrompt, ReflectionReceipt, ReflectionWindow, Theme, ThemeComputation


@admin.register(ReflectionPrompt)
class ReflectionPromptAdmin(admin.ModelAdmin):
    list_display = ["text", "lesson", "kind", "anonymous", "position", "archived", "pack_id"]
    list_filter = ["course", "kind", "anonymous", "archived"]
    search_fields = ["text", "pack_id"]


@admin.register(ReflectionWindow)
class ReflectionWindowAdmin(admin.ModelAdmin):
    list_display = ["lesson", "opens_at", "closes_at", "updated_by", "updated_at"]
    list_filter = ["lesson__course"]


@admin.register(ReflectionReceipt)
class ReflectionReceiptAdmin(admin.ModelAdmin):
    list_display = ["lesson", "student"]
    list_filter = ["lesson__course"]


@admin.register(ReflectionAnswer)
class ReflectionAnswerAdmin(admin.ModelAdmin):
    # Anonymous answers have no student: there is no name here to show.
    list_display = ["__str__", "prompt", "author", "source", "theme", "pinned", "updated_at"]
    list_filter = ["source", "pinned", "prompt__anonymous", "prompt__course"]
    search_fields = ["text"]
    readonly_fields = ["author_key"]
    raw_id_fields = ["prompt", "student", "theme", "replied_by"]

    @admin.display(description="Author")
    def author(self, answer: ReflectionAnswer) -> str:
        return answer.author_label()


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["label", "prompt", "label_locked", "curated", "addressed_at"]
    list_filter = ["label_locked", "curated", "prompt__course"]
    search_fields = ["label", "addressed_note"]
    exclude = ["centroid"]


@admin.register(ThemeComputation)
class ThemeComputationAdmin(admin.ModelAdmin):
    list_display = ["prompt", "state", "stage", "done", "total", "attempts", "finished_at", "version"]
    list_filter = ["state"]
