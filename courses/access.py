"""Who may see what: every course page goes through these, and outsiders get a 404, not a hint."""

from django.http import Http404

from .models import Membership


def membership_or_404(user, course_slug: str, *, staff: bool = False, instructor: bool = False) -> Membership:
    """The user's membership of the course, or 404 if they lack it or the role asked for.

    A 404 rather than a 403: a student must not learn that a page of another course,
    or an instructor's page, exists at all.
    """
    if not user.is_authenticated:
        raise Http404("No such course.")
    # One query, not two (the course, then the membership): every course page starts here.
    membership = Membership.objects.filter(user=user, course__slug=course_slug).select_related("course").first()
    if membership is None:
        raise Http404("No such course.")
    if instructor and not membership.is_instructor:
        raise Http404("No such page.")
    if staff and not membership.is_staff:
        raise Http404("No such page.")
    return membership
