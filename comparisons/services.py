"""Changes to an LLM-comparison homework: proposals, the final criteria, balanced picks, rows, reviews, grades."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from attentive.refusals import Refused
from courses.gradebook import person_key

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


class ComparisonRefused(Refused):
    """The change is not allowed now in this homework; the message says why and what to do."""


# Phase 1: criteria ----------------------------------------------------------------------------


def propose_criterion(homework: ComparisonHomework, author, *, name: str, definition: str,
                      how_to_measure: str) -> CriterionProposal:
    if homework.phase != ComparisonHomework.Phase.CRITERIA:
        raise ComparisonRefused("The criteria are final: proposals are closed.")
    return CriterionProposal.objects.create(
        homework=homework, author=author, name=name.strip(), definition=definition.strip(),
        how_to_measure=how_to_measure.strip(),
    )


def withdraw_proposal(proposal: CriterionProposal) -> None:
    if proposal.homework.phase != ComparisonHomework.Phase.CRITERIA:
        raise ComparisonRefused("The criteria are final: proposals can no longer be withdrawn.")
    if proposal.merged_into_id:
        raise ComparisonRefused("Your instructor already used this proposal in the final list.")
    proposal.delete()


def fullest(sources: list) -> object | None:
    """The source whose text says the most (definition and how to measure): the default text to keep."""
    return max(sources, key=lambda source: len(source.definition) + len(source.how_to_measure), default=None)


@transaction.atomic
def make_criterion(homework: ComparisonHomework, *, proposals: list[CriterionProposal],
                   suggestions: list[SuggestedCriterion], name: str = "", definition: str = "",
                   how_to_measure: str = "", keep: CriterionProposal | SuggestedCriterion | None = None) -> Criterion:
    """A final criterion merging duplicate proposals and suggestions.

    Fields left empty take the text of `keep`, the source the instructor chose (merged too, if it was
    not selected), or else of the selected source whose text is the fullest.
    """
    if isinstance(keep, CriterionProposal) and keep not in proposals:
        proposals = [*proposals, keep]
    if isinstance(keep, SuggestedCriterion) and keep not in suggestions:
        suggestions = [*suggestions, keep]
    sources = [*proposals, *suggestions]
    if not sources and not name.strip():
        raise ComparisonRefused("Select the proposals to merge, or give the criterion a name.")
    kept = keep or fullest(sources)
    position = (homework.criteria.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    criterion = Criterion.objects.create(
        homework=homework,
        name=(name.strip() or kept.name)[:120],
        definition=definition.strip() or (kept.definition if kept else ""),
        how_to_measure=how_to_measure.strip() or (kept.how_to_measure if kept else ""),
        position=position,
    )
    add_to_criterion(criterion, proposals=proposals, suggestions=suggestions)
    return criterion


def add_to_criterion(criterion: Criterion, *, proposals: list[CriterionProposal],
                     suggestions: list[SuggestedCriterion]) -> None:
    CriterionProposal.objects.filter(pk__in=[p.pk for p in proposals], homework=criterion.homework).update(
        merged_into=criterion
    )
    criterion.suggestions.add(*[s for s in suggestions if s.homework_id == criterion.homework_id])


def update_criterion(criterion: Criterion, *, name: str, definition: str, how_to_measure: str) -> Criterion:
    if not name.strip():
        raise ComparisonRefused("A criterion needs a name.")
    criterion.name, criterion.definition, criterion.how_to_measure = name.strip()[:120], definition.strip(), \
        how_to_measure.strip()
    criterion.save()
    return criterion


def delete_criterion(criterion: Criterion) -> None:
    filled = criterion.entries.count()
    if filled:
        raise ComparisonRefused(
            f"{filled} students already filled in “{criterion.name}”: rename it instead of deleting it.")
    criterion.delete()


def move_criterion(criterion: Criterion, offset: int) -> None:
    """Move one place up (-1) or down (+1) in the table."""
    ordered = list(criterion.homework.criteria_list())
    index = ordered.index(criterion)
    other = index + offset
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    with transaction.atomic():
        for position, item in enumerate(ordered, start=1):
            if item.position != position:
                Criterion.objects.filter(pk=item.pk).update(position=position)


def start_table(homework: ComparisonHomework) -> None:
    if not homework.criteria.exists():
        raise ComparisonRefused("Make the final criteria list first: the table needs at least one criterion.")
    if not homework.active_models().exists():
        raise ComparisonRefused("Add at least one model to compare.")
    homework.phase = ComparisonHomework.Phase.TABLE
    homework.save(update_fields=["phase", "updated_at"])


def back_to_criteria(homework: ComparisonHomework) -> None:
    if TableEntry.objects.filter(pick__homework=homework).exists():
        raise ComparisonRefused("Students have started filling in the table: the criteria can still be edited, "
                      "but proposals cannot be reopened.")
    homework.phase = ComparisonHomework.Phase.CRITERIA
    homework.save(update_fields=["phase", "updated_at"])


# Phase 2: picks ---------------------------------------------------------------------------------


@dataclass
class ModelChoice:
    model: ComparedModel
    picks: int
    available: bool


def model_choices(homework: ComparisonHomework, student=None) -> list[ModelChoice]:
    """Every model with how many students research it; only the least-covered ones are available.

    The student's own current pick does not count, so changing one's mind is judged fairly.
    """
    picks = ModelPick.objects.filter(homework=homework)
    if student is not None:
        picks = picks.exclude(student=student)
    counts = Counter(picks.values_list("model_id", flat=True))
    models = list(homework.active_models())
    fewest = min((counts[model.pk] for model in models), default=0)
    return [ModelChoice(model, counts[model.pk], counts[model.pk] == fewest) for model in models]


def pick_model(homework: ComparisonHomework, student, model: ComparedModel) -> ModelPick:
    with transaction.atomic():
        # One pick at a time per homework, so two students cannot both take the last free model.
        ComparisonHomework.objects.select_for_update().filter(pk=homework.pk).first()
        homework.refresh_from_db(fields=["phase", "deadline"])
        if not homework.table_open_for_students():
            raise ComparisonRefused("The table is not open for picks now.")
        current = ModelPick.objects.filter(homework=homework, student=student).first()
        if current and current.model_id == model.pk:
            return current
        if current and current.entries.exists():
            raise ComparisonRefused(
                f"You already filled in values for {current.model.name}: clear them before changing model.")
        choice = next((c for c in model_choices(homework, student) if c.model.pk == model.pk), None)
        if choice is None:
            raise ComparisonRefused("That model is not on the list.")
        if not choice.available:
            raise ComparisonRefused(f"{model.name} already has more students than other models: choose one of the "
                          "models that nobody (or fewest people) researches yet, so every model is covered.")
        if current:
            current.model = model
            current.save(update_fields=["model"])
            return current
        return ModelPick.objects.create(homework=homework, student=student, model=model)


@dataclass
class RowReport:
    saved: int = 0
    cleared: int = 0
    unchanged: int = 0


def save_row(pick: ModelPick, cells: dict[int, tuple[str, str]]) -> RowReport:
    """Save the student's (value, source) per criterion id; an empty pair clears the cell.

    A changed cell goes back to "not reviewed": a verification is of what was verified.
    """
    homework = pick.homework
    if not homework.table_open_for_students():
        raise ComparisonRefused("The deadline has passed: the table is read-only now." if homework.past_deadline()
                      else "The table is not open yet.")
    report = RowReport()
    existing = {entry.criterion_id: entry for entry in pick.entries.all()}
    with transaction.atomic():
        for criterion in homework.criteria_list():
            if criterion.pk not in cells:
                continue
            value, source = cells[criterion.pk]
            entry = existing.get(criterion.pk)
            if not value and not source:
                if entry:
                    entry.delete()
                    report.cleared += 1
                continue
            if entry is None:
                TableEntry.objects.create(pick=pick, criterion=criterion, value=value, source_url=source)
                report.saved += 1
            elif (entry.value, entry.source_url) != (value, source):
                entry.value, entry.source_url, entry.status = value, source, TableEntry.Status.SUBMITTED
                entry.save(update_fields=["value", "source_url", "status", "updated_at"])
                report.saved += 1
            else:
                report.unchanged += 1
    return report


# Review and grades ------------------------------------------------------------------------------


def review_entry(entry: TableEntry, *, by, status: str, comment: str) -> TableEntry:
    if status not in TableEntry.Status.values:
        raise ComparisonRefused("Unknown review status.")
    entry.status, entry.comment = status, comment.strip()
    entry.reviewed_by, entry.reviewed_at = by, timezone.now()
    entry.save(update_fields=["status", "comment", "reviewed_by", "reviewed_at", "updated_at"])
    return entry


def verify_row(pick: ModelPick, *, by) -> int:
    """Mark every not-yet-reviewed cell of the row as verified."""
    return pick.entries.filter(status=TableEntry.Status.SUBMITTED).update(
        status=TableEntry.Status.VERIFIED, reviewed_by=by, reviewed_at=timezone.now()
    )


def grade(homework: ComparisonHomework, student, *, by, points: Decimal, feedback: str) -> HomeworkGrade:
    if points < 0 or points > homework.max_points:
        raise ComparisonRefused(f"Give between 0 and {homework.max_points_text} points.")
    graded, _ = HomeworkGrade.objects.update_or_create(
        homework=homework, student=student, defaults={"points": points, "feedback": feedback.strip(), "graded_by": by}
    )
    return graded


# Reading the table -------------------------------------------------------------------------------


@dataclass
class TableRow:
    model: ComparedModel
    cells: list[list[TableEntry]]
    contributors: list


def class_table(homework: ComparisonHomework) -> tuple[list[Criterion], list[TableRow]]:
    criteria = list(homework.criteria_list())
    # People listed as everywhere else: "Student 2" before "Student 10" (the database's order is not).
    entries = sorted(
        TableEntry.objects.filter(pick__homework=homework).select_related("pick__student", "pick__model", "criterion"),
        key=lambda entry: (person_key(entry.pick.student), entry.pk),
    )
    by_cell: dict[tuple[int, int], list[TableEntry]] = {}
    for entry in entries:
        by_cell.setdefault((entry.pick.model_id, entry.criterion_id), []).append(entry)
    picks = sorted(ModelPick.objects.filter(homework=homework).select_related("student"),
                   key=lambda pick: (person_key(pick.student), pick.pk))
    contributors: dict[int, list] = {}
    for pick in picks:
        contributors.setdefault(pick.model_id, []).append(pick.student)
    models = homework.compared_models.filter(Q(archived=False) | Q(picks__isnull=False)).distinct()
    rows = [
        TableRow(model, [by_cell.get((model.pk, criterion.pk), []) for criterion in criteria],
                 contributors.get(model.pk, []))
        for model in models.order_by("position", "id")
    ]
    return criteria, rows


def coverage(homework: ComparisonHomework) -> list[tuple[ComparedModel, int]]:
    models = homework.active_models().annotate(count=Count("picks"))
    return [(model, model.count) for model in models]
