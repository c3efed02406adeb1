from django.contrib import admin

from .models import Course, Lesson, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "join_code", "joining_open", "pack_id", "created_at"]
    search_fields = ["title", "slug", "join_code", "pack_id"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "role", "joined_at"]
    list_filter = ["role", "course"]
    search_fields = ["user__username", "user__email", "course__title"]
    autocomplete_fields = ["user", "course"]


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "position", "slug", "archived", "pack_id"]
    list_filter = ["course", "archived"]
    search_fields = ["title", "pack_id"]
