"""Request and upload limits: a body just over each limit is refused with its message and changes
nothing; spreadsheets are checked from their zip directory before anything is unpacked."""

import tracemalloc
import zipfile
from io import BytesIO

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from courses.packs import MAX_PACK_FILES, MAX_TEXT_FILE_BYTES
from frontdoor.archives import MB
from quizzes import kahoot
from quizzes.kahoot import SpreadsheetUnreadable, read_kahoot_xlsx
from quizzes.models import Quiz
from tests.conftest import pack_problems
from tests.quizzes.test_kahoot import template

GOOD_ROW = ["Which family is BERT?", "Encoder-only", "Decoder-only", None, None, 20, 1]


def import_quiz(client, cast, data: bytes, name="quiz.xlsx"):
    client.force_login(cast.instructor)
    return client.post(reverse("quiz_import", args=[cast.course.slug]),
                       {"file": SimpleUploadedFile(name, data), "title": ""})


def with_member(data: bytes, name: str, chunks, compresslevel: int = 6) -> bytes:
    """The workbook with the member `name` replaced by (or added as) the given chunks of bytes,
    written as a stream so that the test never holds the unpacked member in memory."""
    source = zipfile.ZipFile(BytesIO(data))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as target:
        for member in source.infolist():
            if member.filename != name:
                target.writestr(member, source.read(member))
        with target.open(name, "w", force_zip64=True) as stream:
            for chunk in chunks:
                stream.write(chunk)
    return out.getvalue()


def test_a_request_just_over_the_cap_is_refused_with_its_message(client, cast, settings):
    settings.MAX_REQUEST_BYTES = 1 * MB
    response = import_quiz(client, cast, b"x" * (1 * MB))
    assert response.status_code == 413
    text = response.content.decode()
    assert "The site accepts at most 1.0 MB in one request" in text
    assert "Nothing was saved." in text
    assert not Quiz.objects.exists()


def test_a_request_under_the_cap_reaches_the_page(client, cast, settings):
    settings.MAX_REQUEST_BYTES = 1 * MB
    response = import_quiz(client, cast, template([GOOD_ROW]))
    assert response.status_code == 302
    assert Quiz.objects.count() == 1


def asgi_post(body_chunks, headers):
    """POST through the real ASGI entry point, as uvicorn would."""
    from attentive.asgi import application

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/accounts/login/", "raw_path": b"/accounts/login/", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    communicator = ApplicationCommunicator(application, scope)
    return communicator, body_chunks


async def run_asgi(communicator, chunks):
    for index, chunk in enumerate(chunks):
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(5)
    return start, body


def test_the_asgi_entry_point_refuses_a_declared_length_over_the_cap_without_reading_it(settings):
    settings.MAX_REQUEST_BYTES = 1 * MB
    communicator, _ = asgi_post([], [(b"host", b"127.0.0.1:8000"), (b"content-length", str(MB + 1).encode())])

    async def exchange():
        start = await communicator.receive_output(10)
        return start, (await communicator.receive_output(10))["body"].decode()

    start, body = async_to_sync(exchange)()
    assert start["status"] == 413
    assert "The site accepts at most 1.0 MB in one request; this one was 1.0 MB" in body


def test_the_asgi_entry_point_cuts_off_a_streamed_body_that_passes_the_cap(settings):
    settings.MAX_REQUEST_BYTES = 1 * MB
    communicator, _ = asgi_post([], [(b"host", b"127.0.0.1:8000"), (b"transfer-encoding", b"chunked")])
    start, body = async_to_sync(run_asgi)(communicator, [b"a" * (512 * 1024)] * 3)
    assert start["status"] == 413
    assert b"Nothing was saved." in body


def test_a_kahoot_file_just_over_its_limit_is_refused_and_nothing_is_imported(client, cast):
    padding = b"p" * (kahoot.MAX_FILE_BYTES + 1 - len(template([GOOD_ROW])))
    data = template([GOOD_ROW]) + padding
    response = import_quiz(client, cast, data)
    assert response.status_code == 400
    assert "a Kahoot spreadsheet is at most 2 MB" in response.content.decode()
    assert not Quiz.objects.exists()


def test_the_200_mb_cell_spreadsheet_is_refused_before_it_is_expanded(client, cast, monkeypatch):
    opening = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
    closing = b"</t></is></c></row></sheetData></worksheet>"
    bomb = with_member(template([GOOD_ROW]), "xl/worksheets/sheet1.xml",
                       [opening, *([b"A" * MB] * 200), closing], compresslevel=9)
    assert len(bomb) < 1 * MB
    monkeypatch.setattr(kahoot, "read_first_sheet", lambda *a, **k: pytest.fail("the workbook was parsed"))
    tracemalloc.start()
    try:
        response = import_quiz(client, cast, bomb)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 400
    assert "would unpack xl/worksheets/sheet1.xml to 200 MB; at most 4.0 MB per part is accepted" in \
        response.content.decode()
    assert peak < 20 * MB
    assert not Quiz.objects.exists()


def test_a_spreadsheet_packed_far_smaller_than_its_content_is_refused():
    data = with_member(template([GOOD_ROW]), "xl/media/filler.bin", [b"\0" * (4 * MB)], compresslevel=9)
    with pytest.raises(SpreadsheetUnreadable, match=r"packed \d+ times smaller than its content"):
        read_kahoot_xlsx(data)


def test_a_spreadsheet_of_too_many_parts_is_refused():
    source = zipfile.ZipFile(BytesIO(template([GOOD_ROW])))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            target.writestr(member, source.read(member))
        for number in range(kahoot.ZIP_LIMITS.max_members):
            target.writestr(f"xl/extra/{number}.txt", b"")
    with pytest.raises(SpreadsheetUnreadable, match=r"holds 1\d\d parts; at most 100 are accepted"):
        read_kahoot_xlsx(out.getvalue())


def test_a_spreadsheet_that_declares_xml_entities_is_refused():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><sst xmlns="http://schemas.'
              b'openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol;</t></si></sst>')
    data = with_member(template([GOOD_ROW]), "xl/sharedStrings.xml", [laughs])
    with pytest.raises(SpreadsheetUnreadable, match=r"declares XML entities in xl/sharedStrings\.xml"):
        read_kahoot_xlsx(data)


def test_a_spreadsheet_within_the_limits_still_imports(client, cast):
    response = import_quiz(client, cast, template([GOOD_ROW] * 50))
    assert response.status_code == 302
    assert Quiz.objects.get().questions.count() == 50


def test_a_reflection_csv_just_over_its_limit_is_refused_and_nothing_is_imported(client, cast):
    from reflections.models import ReflectionAnswer, ReflectionPrompt

    prompt = ReflectionPrompt.objects.create(course=cast.course, lesson=cast.lesson, pack_id="p-1", kind="open",
                                             text="Anything to add?", position=1)
    content = b"answer\n" + b"attention\n" * (5 * MB // 10 + 1)
    client.force_login(cast.instructor)
    url = reverse("reflection_import", args=[cast.course.slug, cast.lesson.slug])
    response = client.post(url, {"prompt": prompt.pk, "column": "answer", "name_column": "",
                                 "file": SimpleUploadedFile("survey.csv", content, content_type="text/csv")})
    assert response.status_code == 400
    assert "The file is larger than 5 MB: split it into smaller files." in response.content.decode()
    assert not ReflectionAnswer.objects.exists()


def test_a_pack_with_too_many_files_is_refused_before_it_is_read(pack):
    extra = pack / "lessons" / "99-extra"
    extra.mkdir()
    for number in range(MAX_PACK_FILES):
        (extra / f"{number}.md").touch()
    assert pack_problems(pack) == [f".: the pack holds more than {MAX_PACK_FILES} files; is this the right folder?"]


def test_a_pack_text_file_just_over_its_limit_is_refused(pack):
    lesson = next((pack / "lessons").iterdir()) / "lesson.md"
    lesson.write_bytes(b"a" * (MAX_TEXT_FILE_BYTES + 1))
    problems = pack_problems(pack)
    assert f"{lesson.relative_to(pack)}: is larger than 1024 KB: split it, or move data out of it" in problems


def test_a_pack_file_that_links_outside_the_pack_is_refused(pack, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("database password")
    lesson = next((pack / "lessons").iterdir()) / "lesson.md"
    lesson.unlink()
    lesson.symlink_to(secret)
    problems = pack_problems(pack)
    assert any("is a link to something outside the pack" in problem for problem in problems)


def test_an_image_just_over_its_limit_is_refused_before_it_is_read(client, cast, monkeypatch, settings, tmp_path):
    from django.core.files.uploadedfile import InMemoryUploadedFile
    from django.test.client import BOUNDARY, encode_multipart

    from quizzes.images import MAX_IMAGE_BYTES
    from quizzes.models import Question, QuizImage

    settings.MEDIA_ROOT = tmp_path
    quiz = Quiz.objects.create(course=cast.course, title="Pictures")
    image = b"\x89PNG\r\n\x1a\n" + b"\0" * (MAX_IMAGE_BYTES + 1 - 8)
    body = encode_multipart(BOUNDARY, {"text": "Which is it?", "time_limit": 20, "points": "standard",
                                       "choice_1": "a", "choice_2": "b", "correct_1": "on",
                                       "image": SimpleUploadedFile("graph.png", image)})
    monkeypatch.setattr(InMemoryUploadedFile, "read", lambda *a, **k: pytest.fail("the image was read"))
    client.force_login(cast.instructor)
    response = client.post(reverse("question_create", args=[cast.course.slug, quiz.pk, "single"]), body,
                           content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code == 400
    assert "graph.png: images must be at most 2 MB (this one is 2.0 MB)" in response.content.decode()
    assert not Question.objects.exists()
    assert not QuizImage.objects.exists()


def test_form_text_just_over_djangos_limit_is_refused_with_the_limit(client, cast, settings):
    from quizzes.models import Question

    quiz = Quiz.objects.create(course=cast.course, title="Long")
    client.force_login(cast.instructor)
    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(reverse("question_create", args=[cast.course.slug, quiz.pk, "single"]),
                           {"text": text, "time_limit": 20, "points": "standard", "choice_1": "a", "choice_2": "b"})
    assert response.status_code == 413
    page = response.content.decode()
    assert "The site accepts at most 2.5 MB of form text (everything but files) in one request. " \
           "Nothing was saved." in page
    assert "Go back and shorten the text, or send it as a file." in page
    assert not Question.objects.exists()


def test_too_many_form_fields_are_refused_with_the_limit(client, cast, settings):
    client.force_login(cast.instructor)
    fields = {f"field{number}": "x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.post(reverse("quiz_create", args=[cast.course.slug]), fields)
    assert response.status_code == 400
    assert "The site accepts at most 1000 form fields in one request." in response.content.decode()
    assert not Quiz.objects.exists()


def test_a_reflection_csv_just_over_its_row_limit_is_refused_and_nothing_is_imported(client, cast):
    from reflections.csvfiles import MAX_ROWS
    from reflections.models import ReflectionAnswer, ReflectionPrompt

    prompt = ReflectionPrompt.objects.create(course=cast.course, lesson=cast.lesson, pack_id="p-1", kind="open",
                                             text="Anything to add?", position=1)
    content = b"answer\n" + b"attention\n" * (MAX_ROWS + 1)
    client.force_login(cast.instructor)
    url = reverse("reflection_import", args=[cast.course.slug, cast.lesson.slug])
    response = client.post(url, {"prompt": prompt.pk, "column": "answer", "name_column": "",
                                 "file": SimpleUploadedFile("survey.csv", content, content_type="text/csv")})
    assert response.status_code == 400
    assert "the file has more than 20000 answers; split it into smaller files" in response.content.decode()
    assert not ReflectionAnswer.objects.exists()


def test_a_pack_just_over_its_total_size_is_refused_and_nothing_is_loaded(pack, db):
    from courses.models import Course
    from courses.packs import MAX_PACK_BYTES, PackInvalid, load_pack

    present = sum(path.stat().st_size for path in pack.rglob("*") if path.is_file())
    with (pack / "recording.bin").open("wb") as sparse:  # no disk is written: the size is a hole
        sparse.truncate(MAX_PACK_BYTES + 1 - present)
    assert sum(path.stat().st_size for path in pack.rglob("*") if path.is_file()) == MAX_PACK_BYTES + 1
    assert f".: the pack's files add up to {MAX_PACK_BYTES + 1:,} bytes, more than the 200 MB " \
           "(209,715,200 bytes) that is read: move large data out of the pack" in pack_problems(pack)
    with pytest.raises(PackInvalid):
        load_pack(pack, verify=False)
    assert not Course.objects.exists()


@pytest.mark.parametrize("path", ["django", "asgi"])
def test_the_413_page_carries_the_sites_security_headers(client, settings, path):
    settings.MAX_REQUEST_BYTES = 1 * MB
    if path == "django":
        response = client.post(reverse("login"), {"username": "x" * MB})
        headers = {name.lower(): value for name, value in response.headers.items()}
        assert response.status_code == 413
    else:
        communicator, _ = asgi_post([], [(b"host", b"127.0.0.1:8000"), (b"content-length", str(MB + 1).encode())])
        start = async_to_sync(communicator.receive_output)(10)
        assert start["status"] == 413
        headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
