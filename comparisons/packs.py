"""The `comparisons/` item kind of course packs: an LLM-comparison homework per .toml file.

    lessons/01-transformers/comparisons/llm-comparison.toml
        id = "..."                       # stable: students' work is attached to it
        title = "Compare large language models"
        points = 10                      # the grade is out of this (default 10)
        instructions = "Markdown"        # optional
        [[model]]                        # the list students pick from (at least one)
        id = "..."
        name = "GPT-4o"
        maker = "OpenAI"                 # optional
        [[suggested_criterion]]          # optional: offered to the instructor when making the final list
        id = "..."
        name = "Context window"
        definition = "..."               # optional
        how_to_measure = "..."           # optional

Dates and the phase are set on the site, not in the pack: they change with every run of
the course. A model or suggestion removed from the pack is archived; students' picks of
it and their values are kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from courses.packs import ItemKind, PackReader, upsert

from .models import ComparedModel, ComparisonHomework, SuggestedCriterion

HOMEWORK_KEYS = {"id", "title", "points", "instructions", "model", "suggested_criterion"}
MODEL_KEYS = {"id", "name", "maker"}
SUGGESTION_KEYS = {"id", "name", "definition", "how_to_measure"}


@dataclass
class ModelSource:
    pack_id: str
    name: str
    maker: str


@dataclass
class SuggestionSource:
    pack_id: str
    name: str
    definition: str
    how_to_measure: str


@dataclass
class HomeworkSource:
    pack_id: str
    title: str
    points: Decimal
    instructions: str
    models: list[ModelSource] = field(default_factory=list)
    suggestions: list[SuggestionSource] = field(default_factory=list)


class ComparisonKind(ItemKind):
    folder = "comparisons"

    def read(self, reader: PackReader, folder: Path) -> list[HomeworkSource]:
        homeworks = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            if not path.is_file() or path.suffix != ".toml":
                reader.problem(path, "unexpected file: comparisons/ holds one .toml file per homework")
                continue
            toml = reader.read_toml(path)
            if toml is None:
                continue
            homework = self._read_homework(reader, toml)
            if homework:
                homeworks.append(homework)
        return homeworks

    def _read_homework(self, reader, toml) -> HomeworkSource | None:
        reader.unknown_keys(toml, HOMEWORK_KEYS)
        homework_id = reader.claim_id(toml)
        title = reader.value(toml, "title", str)
        points = reader.value(toml, "points", (int, float), 10)
        if points is not None and points <= 0:
            reader.key_problem(toml, "points", "`points` must be more than 0")
            points = None
        instructions = reader.value(toml, "instructions", str, "")
        models = self._tables(reader, toml, "model", MODEL_KEYS, required=True)
        suggestions = self._tables(reader, toml, "suggested_criterion", SUGGESTION_KEYS, required=False)
        if None in (homework_id, title, points, instructions, models, suggestions):
            return None
        names = Counter(table["name"].casefold() for table in models)
        for index, table in enumerate(models):
            if names[table["name"].casefold()] > 1:
                reader.key_problem(toml, ("model", index, "name"), f"the model {table['name']!r} is listed twice")
                return None
        return HomeworkSource(
            homework_id, title.strip(), Decimal(str(points)), instructions.strip(),
            [ModelSource(t["id"], t["name"].strip(), t.get("maker", "").strip()) for t in models],
            [SuggestionSource(t["id"], t["name"].strip(), t.get("definition", "").strip(),
                              t.get("how_to_measure", "").strip()) for t in suggestions],
        )

    def _tables(self, reader, toml, key, known, *, required: bool) -> list[dict] | None:
        tables = reader.value(toml, key, list) if required else reader.value(toml, key, list, [])
        if tables is None:
            return None
        if required and not tables:
            reader.key_problem(toml, key, f"add at least one [[{key}]] table")
            return None
        if not all(isinstance(table, dict) for table in tables):
            reader.key_problem(toml, key, f"write each {key.replace('_', ' ')} as a [[{key}]] table")
            return None
        valid = True
        for index, table in enumerate(tables):
            where = (key, index)
            reader.unknown_keys(toml, known, table, prefix=where)
            ok = reader.claim_id(toml, (*where, "id"), table) is not None
            ok &= reader.value(toml, "name", str, table=table, key_path=(*where, "name")) is not None
            for optional in known - {"id", "name"}:
                ok &= reader.value(toml, optional, str, "", table=table, key_path=(*where, optional)) is not None
            valid &= ok
        return tables if valid else None

    def save(self, lesson, items: list[HomeworkSource]) -> Counter:
        counts: Counter = Counter()
        for source in items:
            homework, state = upsert(
                ComparisonHomework,
                {"course": lesson.course, "pack_id": source.pack_id},
                {"lesson": lesson, "title": source.title, "max_points": source.points,
                 "instructions": source.instructions, "archived": False},
            )
            changed = state != "unchanged"
            for position, model in enumerate(source.models, start=1):
                _obj, model_state = upsert(
                    ComparedModel, {"homework": homework, "pack_id": model.pack_id},
                    {"name": model.name, "maker": model.maker, "position": position, "archived": False},
                )
                changed |= model_state != "unchanged"
            for position, suggestion in enumerate(source.suggestions, start=1):
                _obj, suggestion_state = upsert(
                    SuggestedCriterion, {"homework": homework, "pack_id": suggestion.pack_id},
                    {"name": suggestion.name, "definition": suggestion.definition,
                     "how_to_measure": suggestion.how_to_measure, "position": position, "archived": False},
                )
                changed |= suggestion_state != "unchanged"
            kept_models = [model.pack_id for model in source.models]
            kept_suggestions = [suggestion.pack_id for suggestion in source.suggestions]
            changed |= bool(homework.compared_models.filter(archived=False).exclude(pack_id=None)
                            .exclude(pack_id__in=kept_models).update(archived=True))
            changed |= bool(homework.suggestions.filter(archived=False).exclude(pack_id__in=kept_suggestions)
                            .update(archived=True))
            counts["updated" if changed and state == "unchanged" else state] += 1
        return counts

    def retire(self, course, kept_ids: set[str]) -> int:
        gone = ComparisonHomework.objects.filter(course=course, archived=False).exclude(pack_id=None)
        return gone.exclude(pack_id__in=kept_ids).update(archived=True)
