from django.contrib import admin

from .models import (
    ComparedModel,
    ComparisonHomework,
    Criterion,
    CriterionProposal,
    HomeworkGrade,
    ModelPick,
    SuggestedCriterion,
    TableEntry,
)


class ComparedModelInline(admin.TabularInline):
    model = ComparedModel
    extra = 0


@admin.register(ComparisonHomework)
class ComparisonHomeworkAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "lesson", "phase", "deadline", "max_points", "archived", "pack_id"]
    list_filter = ["course", "phase", "archived"]
    search_fields = ["title", "pack_id"]
    inlines = [ComparedModelInline]


@admin.register(ComparedModel)
class ComparedModelAdmin(admin.ModelAdmin):
    list_display = ["name", "maker", "homework", "position", "archived", "pack_id"]
    list_filter = ["homework", "archived"]


@admin.register(SuggestedCriterion)
class SuggestedCriterionAdmin(admin.ModelAdmin):
    list_display = ["name", "homework", "position", "archived", "pack_id"]
    list_filter = ["homework", "archived"]


@admin.register(Criterion)
class CriterionAdmin(admin.ModelAdmin):
    list_display = ["name", "homework", "position"]
    list_filter = ["homework"]


@admin.register(CriterionProposal)
class CriterionProposalAdmin(admin.ModelAdmin):
    list_display = ["name", "author", "homework", "merged_into", "created_at"]
    list_filter = ["homework"]
    search_fields = ["name", "author__username"]


@admin.register(ModelPick)
class ModelPickAdmin(admin.ModelAdmin):
    list_display = ["student", "model", "homework", "picked_at"]
    list_filter = ["homework", "model"]


@admin.register(TableEntry)
class TableEntryAdmin(admin.ModelAdmin):
    list_display = ["pick", "criterion", "value", "status", "reviewed_by", "updated_at"]
    list_filter = ["status", "pick__homework"]
    search_fields = ["value", "source_url"]


@admin.register(HomeworkGrade)
class HomeworkGradeAdmin(admin.ModelAdmin):
    list_display = ["student", "homework", "points", "graded_by", "graded_at"]
    list_filter = ["homework"]
