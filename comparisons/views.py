"""Pages of the LLM-comparison homework for students and staff."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from attentive.refusals import Refused
from courses.access import membership_or_404
from courses.gradebook import person_key
from courses.models import Membership

from . import exports, services
from .forms import CriterionForm, GradeForm, ModelForm, ProposalForm, ReviewForm, RowForm, SettingsForm
from .models import ComparedModel, ComparisonHomework, CriterionProposal, HomeworkGrade, ModelPick, TableEntry


def _homework(request, course_slug: str, homework_id: int, *, staff: bool = False, instructor: bool = False):
    membership = membership_or_404(request.user, course_slug, staff=staff, instructor=instructor)
    homework = ComparisonHomework.objects.filter(
        pk=homework_id, course=membership.course, archived=False, lesson__archived=False
    ).select_related("course", "lesson").first()
    if homework is None:
        raise Http404("No such homework.")
    return membership, homework


def _context(membership, homework, **extra):
    return {"course": membership.course, "membership": membership, "homework": homework, **extra}


@login_required
def homework_list(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug)
    homeworks = list(ComparisonHomework.objects.filter(course=membership.course, archived=False,
                                                       lesson__archived=False).select_related("lesson"))
    if len(homeworks) == 1:
        return redirect(homeworks[0])
    return render(request, "comparisons/list.html",
                  {"course": membership.course, "membership": membership, "homeworks": homeworks})


@login_required
def detail(request, course_slug: str, homework_id: int):
    membership, homework = _homework(request, course_slug, homework_id)
    if membership.is_staff:
        return _staff_detail(request, membership, homework)
    return _student_detail(request, membership, homework)


def _student_detail(request, membership, homework, *, proposal_form=None, row_form=None, status=200):
    pick = ModelPick.objects.filter(homework=homework, student=request.user).select_related("model").first()
    entries = {entry.criterion_id: entry for entry in pick.entries.all()} if pick else {}
    criteria = list(homework.criteria_list())
    editable = homework.table_open_for_students()
    if row_form is None and pick:
        row_form = RowForm(criteria, entries, disabled=not editable)
    grade = HomeworkGrade.objects.filter(homework=homework, student=request.user).first()
    return render(request, "comparisons/student.html", _context(
        membership, homework,
        proposals=CriterionProposal.objects.filter(homework=homework, author=request.user)
        .select_related("merged_into"),
        proposal_form=proposal_form or ProposalForm(),
        criteria=criteria, pick=pick, entries=entries, row_form=row_form, editable=editable,
        choices=services.model_choices(homework, request.user) if editable and not entries else [],
        grade=grade, reviewed=[entry for entry in entries.values() if entry.status != TableEntry.Status.SUBMITTED
                               or entry.comment],
    ), status=status)


def _staff_detail(request, membership, homework):
    students = Membership.objects.filter(course=homework.course, role=Membership.Role.STUDENT).count()
    picks = ModelPick.objects.filter(homework=homework)
    return render(request, "comparisons/staff.html", _context(
        membership, homework,
        students=students, picked=picks.count(),
        coverage=services.coverage(homework),
        proposals=homework.proposals.count(), unmerged=homework.proposals.filter(merged_into=None).count(),
        criteria=list(homework.criteria_list()),
        to_review=TableEntry.objects.filter(pick__homework=homework, status=TableEntry.Status.SUBMITTED).count(),
        graded=homework.grades.count(),
        settings_form=SettingsForm(initial={"deadline": homework.deadline}),
        model_form=ModelForm(),
        archived_models=homework.compared_models.filter(archived=True),
    ))


@login_required
@require_POST
def propose(request, course_slug: str, homework_id: int):
    membership, homework = _homework(request, course_slug, homework_id)
    if membership.is_staff:
        raise Http404("Only students propose criteria.")
    form = ProposalForm(request.POST)
    if not form.is_valid():
        return _student_detail(request, membership, homework, proposal_form=form, status=400)
    try:
        services.propose_criterion(homework, request.user, **form.cleaned_data)
    except Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Thank you! “{form.cleaned_data['name']}” is proposed.")
    return redirect(homework)


@login_required
@require_POST
def withdraw(request, course_slug: str, homework_id: int, proposal_id: int):
    _membership, homework = _homework(request, course_slug, homework_id)
    proposal = get_object_or_404(CriterionProposal, pk=proposal_id, homework=homework, author=request.user)
    try:
        services.withdraw_proposal(proposal)
    except Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"“{proposal.name}” is withdrawn.")
    return redirect(homework)


@login_required
@require_POST
def pick(request, course_slug: str, homework_id: int):
    membership, homework = _homework(request, course_slug, homework_id)
    if membership.is_staff:
        raise Http404("Only students pick a model.")
    model = ComparedModel.objects.filter(homework=homework, archived=False, pk=request.POST.get("model") or 0).first()
    if model is None:
        messages.error(request, "Choose one of the models.")
        return redirect(homework)
    try:
        services.pick_model(homework, request.user, model)
    except Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"You research {model.name}. Fill in its row below.")
    return redirect(homework)


@login_required
@require_POST
def save_row(request, course_slug: str, homework_id: int):
    membership, homework = _homework(request, course_slug, homework_id)
    student_pick = ModelPick.objects.filter(homework=homework, student=request.user).first()
    if membership.is_staff or student_pick is None:
        raise Http404("Pick a model first.")
    criteria = list(homework.criteria_list())
    form = RowForm(criteria, {entry.criterion_id: entry for entry in student_pick.entries.all()}, request.POST)
    if not form.is_valid():
        messages.error(request, "Some cells need fixing: see the messages next to them. Nothing was saved.")
        return _student_detail(request, membership, homework, row_form=form, status=400)
    try:
        report = services.save_row(student_pick, form.cells())
    except Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Saved: {report.saved} cell{'s' if report.saved != 1 else ''} changed"
                         + (f", {report.cleared} cleared" if report.cleared else "") + ".")
    return redirect(f"{homework.get_absolute_url()}#row")


@login_required
def criteria(request, course_slug: str, homework_id: int):
    """The instructor turns proposals and suggestions into the final list."""
    membership, homework = _homework(request, course_slug, homework_id, instructor=True)
    if request.method == "POST":
        _criteria_action(request, homework)
        return redirect("comparison_criteria", course_slug, homework.pk)
    proposals = homework.proposals.select_related("author", "merged_into").order_by("merged_into", "name")
    return render(request, "comparisons/criteria.html", _context(
        membership, homework, proposals=proposals,
        suggestions=homework.suggestions.filter(archived=False).prefetch_related("used_in"),
        criteria=list(homework.criteria_list().prefetch_related("proposals__author", "suggestions")
                      .annotate(filled=Count("entries"))),
        form=CriterionForm(),
    ))


def _kept_source(homework, choice: str):
    """The proposal or suggestion whose text the instructor chose to keep ("proposal-3", "suggestion-1")."""
    kind, _, pk = choice.partition("-")
    if not pk.isdigit():
        return None
    if kind == "proposal":
        return homework.proposals.filter(pk=pk).first()
    if kind == "suggestion":
        return homework.suggestions.filter(pk=pk).first()
    return None


def _criteria_action(request, homework):
    action = request.POST.get("action", "")
    proposals = list(homework.proposals.filter(pk__in=request.POST.getlist("proposals")).order_by("id"))
    suggestions = list(homework.suggestions.filter(pk__in=request.POST.getlist("suggestions")).order_by("position"))
    keep = _kept_source(homework, request.POST.get("keep", ""))
    criterion = homework.criteria.filter(pk=request.POST.get("criterion") or 0).first()
    form = CriterionForm(request.POST)
    form.is_valid()
    data = {key: form.cleaned_data.get(key, "") for key in ("name", "definition", "how_to_measure")}
    try:
        if action == "create":
            made = services.make_criterion(homework, proposals=proposals, suggestions=suggestions, keep=keep, **data)
            merged = len(proposals) + len(suggestions)
            messages.success(request, f"“{made.name}” is in the final list"
                             + (f", merging {merged} proposal{'s' if merged != 1 else ''}." if merged else "."))
        elif action == "add" and criterion:
            if not proposals and not suggestions:
                raise services.ComparisonRefused("Select the proposals to add to this criterion.")
            services.add_to_criterion(criterion, proposals=proposals, suggestions=suggestions)
            merged = len(proposals) + len(suggestions)
            messages.success(request, f"Merged {merged} proposal{'s' if merged != 1 else ''} into “{criterion.name}”.")
        elif action == "edit" and criterion:
            services.update_criterion(criterion, **data)
            messages.success(request, f"“{criterion.name}” is updated.")
        elif action == "delete" and criterion:
            name = criterion.name
            services.delete_criterion(criterion)
            messages.success(request, f"“{name}” is removed from the final list.")
        elif action in ("up", "down") and criterion:
            services.move_criterion(criterion, -1 if action == "up" else 1)
        else:
            messages.error(request, "Unknown action; nothing changed.")
    except Refused as refused:
        messages.error(request, str(refused))


@login_required
@require_POST
def homework_settings(request, course_slug: str, homework_id: int):
    _membership, homework = _homework(request, course_slug, homework_id, instructor=True)
    action = request.POST.get("action")
    try:
        if action == "start_table":
            services.start_table(homework)
            messages.success(request, "The criteria are final. Students now pick a model and fill in their row.")
        elif action == "back_to_criteria":
            services.back_to_criteria(homework)
            messages.success(request, "Students can propose criteria again.")
        elif action == "deadline":
            form = SettingsForm(request.POST)
            if form.is_valid():
                homework.deadline = form.cleaned_data["deadline"]
                homework.save(update_fields=["deadline", "updated_at"])
                messages.success(request, "Deadline saved." if homework.deadline else "The deadline is removed.")
            else:
                messages.error(request, "That deadline is not a valid date and time.")
        elif action == "add_model":
            form = ModelForm(request.POST)
            if not form.is_valid():
                raise services.ComparisonRefused("Give the model a name.")
            position = homework.compared_models.count() + 1
            if homework.compared_models.filter(name__iexact=form.cleaned_data["name"], archived=False).exists():
                raise services.ComparisonRefused(f"{form.cleaned_data['name']} is already on the list.")
            ComparedModel.objects.create(homework=homework, position=position, **form.cleaned_data)
            messages.success(request, f"{form.cleaned_data['name']} is added to the list.")
        elif action in ("archive_model", "restore_model"):
            model = get_object_or_404(ComparedModel, homework=homework, pk=request.POST.get("model") or 0)
            model.archived = action == "archive_model"
            model.save(update_fields=["archived"])
            messages.success(request, f"{model.name} is {'removed from' if model.archived else 'back on'} the list"
                             + (" (students who picked it keep their work)." if model.archived else "."))
        else:
            messages.error(request, "Unknown action; nothing changed.")
    except Refused as refused:
        messages.error(request, str(refused))
    return redirect(homework)


@login_required
def table(request, course_slug: str, homework_id: int):
    membership, homework = _homework(request, course_slug, homework_id)
    if not membership.is_staff and not homework.past_deadline():
        return render(request, "comparisons/table_closed.html", _context(membership, homework), status=403)
    criteria_list, rows = services.class_table(homework)
    return render(request, "comparisons/table.html",
                  _context(membership, homework, criteria=criteria_list, rows=rows))


@login_required
def student_row(request, course_slug: str, homework_id: int, user_id: int):
    """The staff review one student's row: verify cells, comment, grade."""
    membership, homework = _homework(request, course_slug, homework_id, staff=True)
    student = get_object_or_404(get_user_model(), pk=user_id, memberships__course=homework.course)
    student_pick = ModelPick.objects.filter(homework=homework, student=student).select_related("model").first()
    entries = {e.criterion_id: e for e in student_pick.entries.select_related("reviewed_by")} if student_pick else {}
    grade = HomeworkGrade.objects.filter(homework=homework, student=student).first()
    form = GradeForm(request.POST or None, max_points=homework.max_points,
                     initial={"points": grade.points, "feedback": grade.feedback} if grade else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.grade(homework, student, by=request.user, **form.cleaned_data)
            except Refused as refused:
                messages.error(request, str(refused))
            else:
                messages.success(request, f"Grade saved for {student.get_full_name() or student.username}.")
                return redirect("comparison_student", course_slug, homework.pk, student.pk)
    proposals = homework.proposals.filter(author=student).select_related("merged_into")
    return render(request, "comparisons/student_row.html", _context(
        membership, homework, student=student, pick=student_pick, grade=grade, form=form,
        rows=[(criterion, entries.get(criterion.pk)) for criterion in homework.criteria_list()],
        proposals=proposals, statuses=TableEntry.Status,
    ), status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def review_entry(request, course_slug: str, homework_id: int, entry_id: int):
    _membership, homework = _homework(request, course_slug, homework_id, staff=True)
    entry = get_object_or_404(TableEntry.objects.select_related("pick"), pk=entry_id, pick__homework=homework)
    form = ReviewForm(request.POST)
    if form.is_valid():
        services.review_entry(entry, by=request.user, **form.cleaned_data)
        messages.success(request, f"{entry.criterion.name}: {entry.get_status_display().lower()}.")
    else:
        messages.error(request, "Choose verified, needs a source, or not reviewed.")
    return redirect(f"{_row_url(homework, entry.pick.student_id)}#entry-{entry.pk}")


@login_required
@require_POST
def verify_row(request, course_slug: str, homework_id: int, user_id: int):
    _membership, homework = _homework(request, course_slug, homework_id, staff=True)
    student_pick = get_object_or_404(ModelPick, homework=homework, student_id=user_id)
    count = services.verify_row(student_pick, by=request.user)
    messages.success(request, f"{count} cell{'s' if count != 1 else ''} marked as verified.")
    return redirect(_row_url(homework, user_id))


def _row_url(homework, user_id) -> str:
    return reverse("comparison_student", args=[homework.course.slug, homework.pk, user_id])


@login_required
def grades(request, course_slug: str, homework_id: int):
    membership, homework = _homework(request, course_slug, homework_id, staff=True)
    members = sorted(
        Membership.objects.filter(course=homework.course, role=Membership.Role.STUDENT).select_related("user"),
        key=lambda member: person_key(member.user),
    )
    picks = {p.student_id: p for p in ModelPick.objects.filter(homework=homework).select_related("model")
             .annotate(filled=Count("entries"),
                       verified=Count("entries", filter=Q(entries__status=TableEntry.Status.VERIFIED)),
                       flagged=Count("entries", filter=Q(entries__status=TableEntry.Status.NEEDS_SOURCE)))}
    grade_of = {g.student_id: g for g in homework.grades.all()}
    proposals = dict(homework.proposals.values("author").annotate(n=Count("id")).values_list("author", "n"))
    rows = [{"user": m.user, "pick": picks.get(m.user_id), "grade": grade_of.get(m.user_id),
             "proposals": proposals.get(m.user_id, 0)} for m in members]
    return render(request, "comparisons/grades.html", _context(
        membership, homework, rows=rows, criteria_count=homework.criteria.count()))


def _may_export(membership, homework) -> bool:
    return membership.is_staff or homework.past_deadline()


@login_required
def export_csv(request, course_slug: str, homework_id: int):
    membership, homework = _homework(request, course_slug, homework_id)
    if not _may_export(membership, homework):
        raise Http404("The table is shared after the deadline.")
    response = HttpResponse(exports.table_csv(homework, with_comments=membership.is_staff),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="llm-comparison-{homework.course.slug}-{homework.pk}.csv"'
    return response


@login_required
def export_markdown(request, course_slug: str, homework_id: int):
    membership, homework = _homework(request, course_slug, homework_id)
    if not _may_export(membership, homework):
        raise Http404("The table is shared after the deadline.")
    response = HttpResponse(exports.table_markdown(homework), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="llm-comparison-{homework.course.slug}-{homework.pk}.md"'
    return response
