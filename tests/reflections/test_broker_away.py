"""A broker outage loses no theme computation and raises nowhere: the run stays scheduled for the sweep."""

from datetime import timedelta

from django.utils import timezone

from reflections import services
from reflections.models import ThemeComputation


def test_a_theme_update_requested_while_the_broker_is_away_stays_scheduled(
        prompts, broker_away, celery_eager, django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.request_theme_update(prompts.struggled, delay=0)
    assert len(callbacks) == 1  # the doorbell rang, and the broker refused it
    assert ThemeComputation.objects.get(prompt=prompts.struggled).state == "scheduled"
    assert f"could not enqueue the theme computation of prompt {prompts.struggled.pk}" in caplog.text


def test_the_theme_sweep_with_the_broker_away_still_takes_back_a_dead_run(prompts, broker_away):
    long_ago = timezone.now() - timedelta(minutes=30)
    ThemeComputation.objects.create(prompt=prompts.struggled, state="running", heartbeat_at=long_ago, attempts=1)
    assert services.sweep_theme_computations() == 1
    assert ThemeComputation.objects.get(prompt=prompts.struggled).state == "scheduled"
