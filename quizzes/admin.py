from django.contrib import admin

from .models import Answer, Game, GameQuestion, Player, Question, Quiz, QuizImage


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "kind", "text", "time_limit", "points", "archived"]
    show_change_link = True


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "lesson", "pack_id", "archived", "updated_at"]
    list_filter = ["course", "archived"]
    search_fields = ["title", "pack_id"]
    inlines = [QuestionInline]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quiz", "kind", "time_limit", "points", "key", "archived"]
    list_filter = ["kind", "archived", "quiz__course"]
    search_fields = ["text", "key"]
    raw_id_fields = ["quiz", "image"]


@admin.register(QuizImage)
class QuizImageAdmin(admin.ModelAdmin):
    list_display = ["original_name", "content_type", "sha256", "created_at"]
    search_fields = ["original_name", "sha256"]


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["title", "pin", "course", "phase", "question_index", "version", "created_at", "finished_at"]
    list_filter = ["phase", "course"]
    search_fields = ["title", "pin"]
    raw_id_fields = ["quiz", "host"]


@admin.register(GameQuestion)
class GameQuestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "position", "opened_at", "closed_at"]
    raw_id_fields = ["game", "question"]


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ["nickname", "game", "user", "score", "rank", "streak", "kicked"]
    list_filter = ["kicked"]
    search_fields = ["nickname", "user__username", "game__pin"]
    raw_id_fields = ["game", "user"]
    exclude = ["seat_token"]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["player", "game_question", "fraction", "points", "elapsed_ms", "received_at"]
    raw_id_fields = ["player", "game_question"]
