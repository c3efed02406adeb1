"""WebSocket addresses of live games (attentive/asgi.py gathers every app's routing.py)."""

from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/quiz/<int:game_id>/play/", consumers.PlayerConsumer.as_asgi()),
    path("ws/quiz/<int:game_id>/host/", consumers.HostConsumer.as_asgi()),
]
