"""`comparisons.gradebook.gradebook_columns(course)`: the homework's grades for the course gradebook."""

from comparisons.gradebook import GradebookColumn, gradebook_columns
from comparisons.models import ComparisonHomework, HomeworkGrade


def test_one_column_per_homework_with_each_graded_students_points(cast, homework):
    HomeworkGrade.objects.create(homework=homework.homework, student=cast.student, points="7.50")
    columns = gradebook_columns(cast.course)
    assert columns == [GradebookColumn(key="comparison:hw-llm", title="Compare LLMs", max_points=10.0,
                                       scores={cast.student.pk: 7.5})]
    assert isinstance(columns[0].scores[cast.student.pk], float)


def test_ungraded_students_are_absent_and_other_courses_are_left_out(cast, homework):
    ComparisonHomework.objects.create(course=cast.other_course, lesson=cast.lesson, title="Elsewhere")
    assert gradebook_columns(cast.course)[0].scores == {}
    assert [c.title for c in gradebook_columns(cast.other_course)] == ["Elsewhere"]


def test_archived_homeworks_are_left_out_and_site_made_ones_get_a_key(cast, homework):
    homework.homework.archived = True
    homework.homework.save()
    made_here = ComparisonHomework.objects.create(course=cast.course, lesson=cast.lesson, title="Extra", max_points=5)
    assert gradebook_columns(cast.course) == [GradebookColumn(f"comparison:{made_here.pk}", "Extra", 5.0, {})]


def test_a_course_without_homework_has_no_columns(cast):
    assert gradebook_columns(cast.course) == []
