"""After a game: how each question went and how each player did, on a page, in .xlsx and in CSV.

The page renders the instructor's Markdown; the spreadsheets carry it as plain text.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from io import BytesIO, StringIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from .kinds import KINDS
from .models import Answer, Game
from .services.teams import team_name
from .text import plain_text


@dataclass
class QuestionReport:
    number: int
    kind_label: str
    text: str
    solution: str
    graded: bool
    points: int
    players: int
    answered: int
    correct: int | None
    average_seconds: float | None
    bars: list[dict]
    played: bool = True

    @property
    def percent_correct(self) -> float | None:
        if not self.graded or not self.players:
            return None
        return round(100 * (self.correct or 0) / self.players, 1)

    @property
    def largest_bar(self) -> int:
        return max([bar["count"] for bar in self.bars] + [1])


@dataclass
class PlayerReport:
    rank: int | None
    nickname: str
    account: str
    team: str
    score: int
    correct: int
    answered: int
    best_streak: int
    kicked: bool
    points: list[int | None] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)


@dataclass
class GameReport:
    game: Game
    questions: list[QuestionReport]
    players: list[PlayerReport]


def game_report(game: Game) -> GameReport:
    game_questions = list(game.game_questions.order_by("position"))
    questions = []
    for game_question in game_questions:
        data = game_question.data
        kind = KINDS[data["kind"]]
        tally = game_question.tally or {}
        average = tally.get("average_ms")
        questions.append(QuestionReport(
            number=game_question.position + 1, kind_label=kind.label, text=data["text"],
            solution=kind.solution_text(data["spec"]), graded=kind.graded, points=data["points"],
            players=tally.get("players", 0), answered=tally.get("answered", 0), correct=tally.get("right"),
            average_seconds=None if average is None else round(average / 1000, 1), bars=tally.get("bars", []),
            played=game_question.closed_at is not None,
        ))
    answers: dict[tuple[int, int], Answer] = {
        (answer.player_id, answer.game_question.position): answer
        for answer in Answer.objects.filter(game_question__game=game).select_related("game_question")
    }
    players = []
    for player in game.players.select_related("user").order_by("kicked", "rank", "joined_at"):
        report = PlayerReport(
            rank=player.rank, nickname=player.nickname,
            account=(player.user.get_full_name() or player.user.username) if player.user else "",
            team=team_name(player.team) or "", score=player.score, correct=player.correct_count,
            answered=0, best_streak=player.best_streak, kicked=player.kicked,
        )
        for game_question in game_questions:
            answer = answers.get((player.pk, game_question.position))
            report.points.append(answer.points if answer else None)
            report.answers.append(
                game_question.kind_handler.describe(game_question.data["spec"], game_question.display, answer.answer)
                if answer else ""
            )
            report.answered += answer is not None
        players.append(report)
    return GameReport(game, questions, players)


def _safe(value: Any) -> Any:
    """Text that a spreadsheet could take for a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def player_rows(report: GameReport) -> tuple[list[str], list[list[Any]]]:
    header = ["Rank", "Nickname", "Account", "Team", "Score", "Correct", "Answered", "Best streak", "Removed"]
    header += [f"Q{question.number} points" for question in report.questions]
    rows = [
        [player.rank, player.nickname, player.account, player.team, player.score, player.correct, player.answered,
         player.best_streak, "yes" if player.kicked else "", *player.points]
        for player in report.players
    ]
    return header, rows


def question_rows(report: GameReport) -> tuple[list[str], list[list[Any]]]:
    header = ["Question", "Kind", "Text", "Right answer", "Points", "Players", "Answered", "Correct", "% correct",
              "Average time (s)", "Answers"]
    rows = [
        [question.number, question.kind_label, plain_text(question.text), plain_text(question.solution),
         question.points, question.players, question.answered, question.correct, question.percent_correct,
         question.average_seconds,
         "; ".join(f"{plain_text(bar['label']) if bar.get('authored') else bar['label']}: {bar['count']}"
                   for bar in question.bars)]
        for question in report.questions
    ]
    return header, rows


def answer_rows(report: GameReport) -> tuple[list[str], list[list[Any]]]:
    header = ["Nickname", "Account", *[f"Q{question.number}" for question in report.questions]]
    rows = [[player.nickname, player.account, *player.answers] for player in report.players]
    return header, rows


TABLES = {"players": player_rows, "questions": question_rows, "answers": answer_rows}


def report_csv(report: GameReport, table: str) -> str:
    header, rows = TABLES[table](report)
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe("" if value is None else value) for value in row])
    return buffer.getvalue()


def report_xlsx(report: GameReport) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, table in (("Players", "players"), ("Questions", "questions"), ("Answers", "answers")):
        sheet = workbook.create_sheet(title)
        header, rows = TABLES[table](report)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # a nickname such as "=HYPERLINK(...)" stays text
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
