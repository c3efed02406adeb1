"""Quizzes and their questions, live games, their players and answers.

A game copies its questions when it starts (`GameQuestion.data`), so editing or
archiving a quiz never changes a game being played or the report of one played.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from frontdoor.throttle import link_key

from .kinds import KIND_CHOICES, KINDS

MIN_TIME_LIMIT = 5
MAX_TIME_LIMIT = 240
KAHOOT_TIME_LIMITS = (5, 10, 20, 30, 60, 90, 120, 240)


class Points(models.TextChoices):
    NONE = "none", "No points"
    STANDARD = "standard", "Standard (1000)"
    DOUBLE = "double", "Double (2000)"


POINTS_VALUE = {Points.NONE: 0, Points.STANDARD: 1000, Points.DOUBLE: 2000}


def new_key() -> str:
    return str(uuid.uuid4())


class QuizImage(models.Model):
    """An image shown with a question, stored once per content (its SHA-256), from a pack or an upload."""

    sha256 = models.CharField(max_length=64, unique=True)
    file = models.FileField(upload_to="quiz-images/")
    content_type = models.CharField(max_length=40)
    original_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.original_name or self.sha256[:12]

    def get_absolute_url(self) -> str:
        return reverse("quiz_image", args=[self.sha256])


class Quiz(models.Model):
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="quizzes")
    lesson = models.ForeignKey(
        "courses.Lesson", null=True, blank=True, on_delete=models.SET_NULL, related_name="quizzes"
    )
    # The stable id from the course pack; NULL for quizzes written in the web editor,
    # which are then editable on the web (pack quizzes are edited in their files).
    pack_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quizzes"
        ordering = ["course", "lesson__position", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["course", "pack_id"], name="one_quiz_per_pack_id")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("quiz_detail", args=[self.course.slug, self.pk])

    @property
    def from_pack(self) -> bool:
        return self.pack_id is not None

    def active_questions(self) -> models.QuerySet[Question]:
        return self.questions.filter(archived=False).order_by("position", "id")


class Question(models.Model):
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    # Stable id: the pack's id for pack questions, a UUID for questions made on the web.
    key = models.CharField(max_length=64, default=new_key)
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    text = models.TextField(help_text="Markdown with $math$.")
    time_limit = models.PositiveSmallIntegerField(default=20, help_text="Seconds to answer, 5 to 240.")
    points = models.CharField(max_length=10, choices=Points.choices, default=Points.STANDARD)
    image = models.ForeignKey(QuizImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What the kind needs: choices and which are right, accepted spellings, slider range...
    spec = models.JSONField(default=dict)
    archived = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["quiz", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["quiz", "key"], name="one_question_per_key")]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def kind_handler(self):
        """The QuestionKind that checks, shows and grades this question (`kind` is its name)."""
        return KINDS[self.kind]


def new_seat_token() -> str:
    return secrets.token_urlsafe(24)


class Game(models.Model):
    class Phase(models.TextChoices):
        LOBBY = "lobby", "Lobby"
        QUESTION = "question", "Question shown"
        ANSWERING = "answering", "Answering"
        REVEAL = "reveal", "Answer revealed"
        SCOREBOARD = "scoreboard", "Scoreboard"
        PODIUM = "podium", "Podium"

    # RESTRICT, not PROTECT: deleting a whole course still takes its games with it.
    quiz = models.ForeignKey(Quiz, on_delete=models.RESTRICT, related_name="games")
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="quiz_games")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    pin = models.CharField(max_length=8)
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.LOBBY)
    # Every phase change bumps the version; changes are compare-and-set on it, so two
    # processes (or a double click) can never advance a game twice.
    version = models.PositiveIntegerField(default=1)
    question_index = models.IntegerField(default=-1)
    question_count = models.PositiveIntegerField(default=0)
    phase_started_at = models.DateTimeField(null=True, blank=True)
    # When the current phase ends by itself (reading time, answering time, auto-advance).
    deadline = models.DateTimeField(null=True, blank=True)

    # Options chosen by the host.
    speed_points = models.BooleanField(default=True, help_text="Faster right answers earn more points.")
    auto_advance = models.BooleanField(default=False)
    reading_seconds = models.PositiveSmallIntegerField(default=5)
    team_mode = models.BooleanField(default=False)
    team_count = models.PositiveSmallIntegerField(default=2)
    accounts_only = models.BooleanField(default=False, help_text="Only members of the course may join.")
    extra_time_factor = models.FloatField(default=1.5, help_text="Time multiplier for players given extra time.")

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pin"], condition=Q(finished_at__isnull=True), name="one_running_game_per_pin"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.pin})"

    def get_absolute_url(self) -> str:
        return reverse("game_host", args=[self.course.slug, self.pk])

    @property
    def is_running(self) -> bool:
        return self.finished_at is None

    def join_path(self) -> str:
        """The projector's link and QR code: its key lets it pass the locks that wrong PINs cause."""
        return reverse("play_join", args=[self.pin]) + f"?k={self.join_key()}"

    def join_key(self) -> str:
        return link_key("game", self.pk, self.pin)

    def join_url(self) -> str:
        return settings.SITE_URL + self.join_path()

    def join_url_to_type(self) -> str:
        """The address as the projector writes it, for typing: the link and QR code add the key."""
        return settings.SITE_URL + reverse("play_join", args=[self.pin])


class GameQuestion(models.Model):
    """A question as it was played: a copy taken when the game started, and what happened to it."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="game_questions")
    position = models.PositiveIntegerField()
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # kind, text, text_html, spec, time_limit, points, image_url: frozen at the start.
    data = models.JSONField()
    # Drawn once per game, e.g. the shuffled order of an ordering question.
    display = models.JSONField(default=dict)
    opened_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The chart of answers, computed once when the question closes.
    tally = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["game", "position"]
        constraints = [models.UniqueConstraint(fields=["game", "position"], name="one_game_question_per_position")]

    def __str__(self) -> str:
        return f"{self.game} #{self.position + 1}"

    @property
    def kind_handler(self):
        """The QuestionKind of the question as it was played (`data["kind"]` is its name)."""
        return KINDS[self.data["kind"]]


class Player(models.Model):
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="players")
    nickname = models.CharField(max_length=40)
    nickname_key = models.CharField(max_length=40)
    # Set when the player joined from their course account: their score goes to the gradebook.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="quiz_players")
    # The secret that binds a browser session to this seat; never shown to anyone else.
    seat_token = models.CharField(max_length=64, unique=True, default=new_seat_token)
    # A digest of the browser session that took the seat: the same session asking again for the
    # same nickname (its first answer lost on the way) gets this seat back, nobody else does.
    session_mark = models.CharField(max_length=64, blank=True, default="")
    team = models.PositiveSmallIntegerField(null=True, blank=True)
    time_factor = models.FloatField(default=1.0)
    kicked = models.BooleanField(default=False)
    score = models.IntegerField(default=0)
    streak = models.PositiveIntegerField(default=0)
    best_streak = models.PositiveIntegerField(default=0)
    correct_count = models.PositiveIntegerField(default=0)
    rank = models.PositiveIntegerField(null=True, blank=True)
    previous_rank = models.PositiveIntegerField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "rank", "joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["game", "nickname_key"], name="one_nickname_per_game"),
            models.UniqueConstraint(fields=["game", "user"], condition=Q(user__isnull=False),
                                    name="one_seat_per_account_per_game"),
        ]

    def __str__(self) -> str:
        return self.nickname


class Answer(models.Model):
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="answers")
    game_question = models.ForeignKey(GameQuestion, on_delete=models.CASCADE, related_name="answers")
    answer = models.JSONField()
    received_at = models.DateTimeField()
    elapsed_ms = models.PositiveIntegerField()
    # None for questions without a right answer (polls, word clouds).
    fraction = models.FloatField(null=True, blank=True)
    base_points = models.PositiveIntegerField(default=0)
    streak_bonus = models.PositiveIntegerField(default=0)
    points = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["game_question", "received_at"]
        # The first answer counts: a second one from the same player cannot be stored.
        constraints = [models.UniqueConstraint(fields=["player", "game_question"], name="one_answer_per_question")]

    def __str__(self) -> str:
        return f"{self.player} on {self.game_question}"

    @property
    def correct(self) -> bool | None:
        return None if self.fraction is None else self.fraction >= 1.0
