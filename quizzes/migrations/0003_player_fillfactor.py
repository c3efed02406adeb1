"""Room in each page of quizzes_player for a new version of every row (PostgreSQL only).

Closing a question rewrites the score, streak and rank of every player of the game. With full
pages, PostgreSQL put each new row version on another page and added it to all seven indexes
of the table (45,000 buffers and 70-120 ms for 2,000 players on a busy machine); with half of
each page free, the new version stays on its page and no index changes, since none of those
columns is indexed (6,000 buffers, 5-15 ms). docs/benchmarks.md, "Live quizzes".
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor, fillfactor: int) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE quizzes_player SET (fillfactor = {fillfactor})")


class Migration(migrations.Migration):
    dependencies = [("quizzes", "0002_player_session_mark")]

    operations = [
        migrations.RunPython(lambda apps, editor: set_fillfactor(apps, editor, 50),
                             lambda apps, editor: set_fillfactor(apps, editor, 100)),
    ]
