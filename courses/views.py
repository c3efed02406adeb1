"""Pages for accounts, courses, joining, the roster and lessons."""

from datetime import datetime

import segno
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_POST

from frontdoor import throttle
from frontdoor.signin import account_key

from .access import membership_or_404
from .forms import CourseForm, JoinForm, SignupForm
from .gradebook import EXPORT_FORMATS, IDENTIFIERS, build_gradebook, export_csv, person_key
from .models import Course, Membership, normalize_join_code
from .panels import course_panels, lesson_panels


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: send them to the site's icon."""
    return redirect(static("img/favicon.svg"), permanent=True)


def home(request):
    if not request.user.is_authenticated:
        return render(request, "courses/landing.html", {"join_form": JoinForm()})
    memberships = (
        Membership.objects.filter(user=request.user).select_related("course").order_by("course__title")
    )
    return render(
        request,
        "courses/home.html",
        {
            "teaching": [m for m in memberships if m.is_staff],
            "learning": [m for m in memberships if not m.is_staff],
            "join_form": JoinForm(),
        },
    )


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.first_name or user.username}! Your account is ready.")
        if next_url.startswith("/") and not next_url.startswith("//"):
            return redirect(next_url)
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


@login_required
def course_create(request):
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            course = form.save(commit=False)
            course.created_by = request.user
            course.save()
            Membership.objects.create(user=request.user, course=course, role=Membership.Role.INSTRUCTOR)
        messages.success(request, f"Course created. Students join with the code {course.join_code}.")
        return redirect(course)
    return render(request, "courses/course_form.html", {"form": form})


def _join_code_checks(request) -> list[tuple[throttle.Rule, str]]:
    return [(throttle.rule("join-code-account"), str(request.user.pk)),
            (throttle.rule("join-code-address"), throttle.client_address(request))]


def _join_code_lock(checks) -> datetime | None:
    """Until when this person may not try a code: their own lock, or their address's once they
    have failed there too (someone else guessing from a shared address stops nobody else)."""
    (account_rule, account), (address_rule, address) = checks
    if until := throttle.locked_until(account_rule, account):
        return until
    if throttle.failures(account_rule, account):
        return throttle.locked_until(address_rule, address)
    return None


def _join_code_locked(request, form: JoinForm, checks):
    """The join page saying until when wrong codes have paused joining, or None if they have not."""
    until = _join_code_lock(checks)
    if until is None:
        return None
    form.link_error = (f"Too many wrong course codes: joining with a typed code is paused until "
                       f"{throttle.when(until)}. The join link or QR code your instructor shares always works; "
                       "the site's administrators can lift the pause sooner.")
    return render(request, "courses/join.html", {"form": form}, status=429)


@login_required
def join(request):
    form = JoinForm(request.POST or None)
    if request.method == "POST":
        checks = _join_code_checks(request)
        if refused := _join_code_locked(request, form, checks):
            return refused  # checked before the code is looked up, so guessing learns nothing
        if form.is_valid():
            return _join(request, form.course)
        if form.has_error("code", code="unknown"):
            throttle.record_failures(checks)
            if refused := _join_code_locked(request, form, checks):
                return refused
    return render(request, "courses/join.html", {"form": form}, status=400 if form.errors else 200)


def _course_of_staff_link(code: str, key: str | None) -> Course | None:
    """The course of a join link as staff hand it out (its key proves it), never a guess."""
    if not key:
        return None
    course = Course.objects.filter(join_code=normalize_join_code(code)).first()
    return course if course and throttle.link_key_valid(key, "course", course.pk, course.join_code) else None


@login_required
def join_with_link(request, code: str):
    course = _course_of_staff_link(code, request.GET.get("k"))
    if course is None:
        checks = _join_code_checks(request)
        if refused := _join_code_locked(request, JoinForm(initial={"code": code}), checks):
            return refused
        course = Course.objects.filter(join_code=normalize_join_code(code)).first()
        if course is None:
            form = JoinForm(initial={"code": code})
            throttle.record_failures(checks)
            if refused := _join_code_locked(request, form, checks):
                return refused
            form.link_error = "This join link is out of date or mistyped. Ask your instructor for the current code."
            return render(request, "courses/join.html", {"form": form}, status=404)
    if request.method == "POST":
        if not course.joining_open:
            messages.error(request, "This course is not accepting new members. Ask your instructor.")
            return redirect("home")
        return _join(request, course)
    already = Membership.objects.filter(user=request.user, course=course).exists()
    return render(request, "courses/join_confirm.html", {"course": course, "already": already})


def _join(request, course: Course):
    _membership, created = Membership.objects.get_or_create(
        user=request.user, course=course, defaults={"role": Membership.Role.STUDENT}
    )
    if created:
        messages.success(request, f"You joined {course.title}.")
    else:
        messages.info(request, f"You are already in {course.title}.")
    return redirect(course)


@login_required
def course_detail(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug)
    course = membership.course
    return render(
        request,
        "courses/course_detail.html",
        {
            "course": course,
            "membership": membership,
            "lessons": course.active_lessons(),
            "panels": course_panels(request, course, membership),
        },
    )


@login_required
def course_join_code(request, course_slug: str):
    """The code, link and QR code to put on a projector."""
    membership = membership_or_404(request.user, course_slug, staff=True)
    course = membership.course
    qr_svg = segno.make(course.join_url(), error="m").svg_inline(scale=8, dark="#111", light="#fff")
    return render(request, "courses/join_code.html", {"course": course, "membership": membership, "qr_svg": qr_svg})


@login_required
@require_POST
def course_join_settings(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug, instructor=True)
    course = membership.course
    action = request.POST.get("action")
    if action == "regenerate":
        course.regenerate_join_code()
        messages.success(request, f"New join code: {course.join_code}. The old code and link no longer work.")
    elif action in ("open", "close"):
        course.joining_open = action == "open"
        course.save(update_fields=["joining_open", "updated_at"])
        messages.success(request, "Joining is open." if course.joining_open else "Joining is closed.")
    else:
        messages.error(request, "Unknown action; nothing changed.")
    return redirect("course_join_code", course.slug)


@login_required
def course_roster(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    roles = list(Membership.Role.values)
    members = sorted(
        membership.course.memberships.select_related("user"),
        key=lambda member: (roles.index(member.role), person_key(member.user)),
    )
    for member in members:
        member.sign_in_locked_until = throttle.account_locks(account_key(member.user.username), member.user.pk)
    return render(
        request,
        "courses/roster.html",
        {"course": membership.course, "membership": membership, "members": members, "roles": Membership.Role},
    )


@login_required
@require_POST
def member_unlock(request, course_slug: str, member_id: int):
    """Lift a member's locks (wrong passwords, from any address; wrong course codes), so they can
    sign in at once. Address-wide locks are the site administrators' (an address is no one's)."""
    membership = membership_or_404(request.user, course_slug, instructor=True)
    member = get_object_or_404(Membership, pk=member_id, course=membership.course)
    if throttle.lift_account(account_key(member.user.username), member.user.pk):
        messages.success(request, f"{_name(member.user)} can sign in again.")
    else:
        messages.info(request, f"{_name(member.user)} was not locked out.")
    return redirect("course_roster", course_slug)


@login_required
@require_POST
def member_role(request, course_slug: str, member_id: int):
    membership = membership_or_404(request.user, course_slug, instructor=True)
    member = get_object_or_404(Membership, pk=member_id, course=membership.course)
    role = request.POST.get("role")
    if role not in Membership.Role.values:
        messages.error(request, "Unknown role; nothing changed.")
    elif member.pk == membership.pk and role != Membership.Role.INSTRUCTOR and _last_instructor(member):
        messages.error(request, "You are the only instructor: promote someone else first.")
    else:
        member.role = role
        member.save(update_fields=["role"])
        messages.success(request, f"{_name(member.user)} is now {member.get_role_display().lower()}.")
    return redirect("course_roster", course_slug)


@login_required
@require_POST
def member_remove(request, course_slug: str, member_id: int):
    membership = membership_or_404(request.user, course_slug, instructor=True)
    member = get_object_or_404(Membership, pk=member_id, course=membership.course)
    if member.is_instructor and _last_instructor(member):
        messages.error(request, "A course needs an instructor: promote someone else before removing the last one.")
        return redirect("course_roster", course_slug)
    member.delete()
    messages.success(request, f"{_name(member.user)} was removed from the course. Their work is kept.")
    if member.pk == membership.pk:
        return redirect("home")
    return redirect("course_roster", course_slug)


def _last_instructor(member: Membership) -> bool:
    return not member.course.memberships.filter(role=Membership.Role.INSTRUCTOR).exclude(pk=member.pk).exists()


def _name(user) -> str:
    return user.get_full_name() or user.username


@login_required
def lesson_detail(request, course_slug: str, lesson_slug: str):
    membership = membership_or_404(request.user, course_slug)
    course = membership.course
    lesson = course.lessons.filter(slug=lesson_slug, archived=False).first()
    if lesson is None:
        raise Http404("No such lesson.")
    lessons = list(course.active_lessons())
    index = next(i for i, other in enumerate(lessons) if other.pk == lesson.pk)
    return render(
        request,
        "courses/lesson_detail.html",
        {
            "course": course,
            "membership": membership,
            "lesson": lesson,
            "previous_lesson": lessons[index - 1] if index > 0 else None,
            "next_lesson": lessons[index + 1] if index + 1 < len(lessons) else None,
            "panels": lesson_panels(request, lesson, membership),
        },
    )


@login_required
def gradebook(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    book = build_gradebook(membership.course)
    return render(request, "courses/gradebook.html", {"course": membership.course, "membership": membership,
                                                       "gradebook": book})


@login_required
def gradebook_export(request, course_slug: str):
    """The gradebook as a CSV file for Moodle, Canvas or a spreadsheet (`?format=`, `?identifier=`)."""
    membership = membership_or_404(request.user, course_slug, staff=True)
    course = membership.course
    export_format = request.GET.get("format", "plain")
    identifier = request.GET.get("identifier", "email")
    if export_format not in EXPORT_FORMATS or identifier not in IDENTIFIERS:
        return HttpResponse(
            "Unknown export: choose the format moodle, canvas or plain, and the identifier email or username.",
            status=400, content_type="text/plain; charset=utf-8",
        )
    text = export_csv(build_gradebook(course), export_format, identifier)
    response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
    suffix = "" if export_format == "plain" else f"-{export_format}"
    filename = f"{course.slug}-gradebook{suffix}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
