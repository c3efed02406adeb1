"""The `reflections/` item kind of course packs: a lesson's end-of-lesson prompts.

    lessons/01-transformers/reflections/01-question-time.toml
        title = "Question time"            # optional: a heading over these prompts
        [[prompt]]
        id = "..."                          # stable: answers are attached to it
        text = "Write down something you did not fully understand."
        kind = "struggled"                  # understood | struggled | curious | open (default)
        anonymous = true                    # default false: staff see names

Files are read in name order and prompts in file order. A prompt that leaves the pack is
archived with its answers; one that becomes anonymous loses the names on its answers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from courses.packs import ItemKind, PackReader, upsert

from .models import ReflectionAnswer, ReflectionPrompt

FILE_KEYS = {"title", "prompt"}
PROMPT_KEYS = {"id", "text", "kind", "anonymous"}


@dataclass
class PromptSource:
    pack_id: str
    section: str
    text: str
    kind: str
    anonymous: bool
    position: int


class ReflectionPromptKind(ItemKind):
    folder = "reflections"

    def read(self, reader: PackReader, folder: Path) -> list[PromptSource]:
        prompts: list[PromptSource] = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            if not path.is_file() or path.suffix != ".toml":
                reader.problem(path, "unexpected file: reflections/ holds .toml files of [[prompt]] tables")
                continue
            toml = reader.read_toml(path)
            if toml is None:
                continue
            reader.unknown_keys(toml, FILE_KEYS)
            section = reader.value(toml, "title", str, "")
            tables = reader.value(toml, "prompt", list)
            if tables is None:
                continue
            if not tables or not all(isinstance(table, dict) for table in tables):
                reader.key_problem(toml, "prompt", "write each prompt as a [[prompt]] table with an id and a text")
                continue
            for index, table in enumerate(tables):
                prompt = self._read_prompt(reader, toml, table, index, section, len(prompts) + 1)
                if prompt:
                    prompts.append(prompt)
        return prompts

    def _read_prompt(self, reader, toml, table, index, section, position) -> PromptSource | None:
        where = ("prompt", index)
        reader.unknown_keys(toml, PROMPT_KEYS, table, prefix=where)
        prompt_id = reader.claim_id(toml, (*where, "id"), table)
        text = reader.value(toml, "text", str, table=table, key_path=(*where, "text"))
        kind = reader.value(toml, "kind", str, ReflectionPrompt.Kind.OPEN.value, table=table, key_path=(*where, "kind"))
        if kind is not None and kind not in ReflectionPrompt.Kind.values:
            reader.key_problem(
                toml, (*where, "kind"), f"kind {kind!r} is not one of: {', '.join(ReflectionPrompt.Kind.values)}"
            )
            kind = None
        anonymous = reader.value(toml, "anonymous", bool, False, table=table, key_path=(*where, "anonymous"))
        if None in (prompt_id, text, kind, anonymous, section):
            return None
        return PromptSource(prompt_id, section.strip(), text.strip(), kind, anonymous, position)

    def save(self, lesson, items: list[PromptSource]) -> Counter:
        counts: Counter = Counter()
        for source in items:
            prompt, state = upsert(
                ReflectionPrompt,
                {"course": lesson.course, "pack_id": source.pack_id},
                {
                    "lesson": lesson,
                    "section": source.section,
                    "text": source.text,
                    "kind": source.kind,
                    "anonymous": source.anonymous,
                    "position": source.position,
                    "archived": False,
                },
            )
            if prompt.anonymous:
                # Answers given with names become anonymous; answers never gain names.
                ReflectionAnswer.objects.filter(prompt=prompt).exclude(student=None, respondent="").update(
                    student=None, respondent=""
                )
            counts[state] += 1
        return counts

    def retire(self, course, kept_ids: set[str]) -> int:
        gone = ReflectionPrompt.objects.filter(course=course, archived=False).exclude(pack_id=None)
        return gone.exclude(pack_id__in=kept_ids).update(archived=True)
