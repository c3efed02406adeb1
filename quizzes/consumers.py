"""WebSocket consumers: a player's phone and the host's projector.

A consumer holds who is connected (a player id bound by the session's seat token, or a
host checked against the course) and nothing of the game: every message it sends is
built from the database or from a broadcast that carried a complete phase.
"""

from __future__ import annotations

import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from . import live, services, timing
from .db import game_database
from .throttle import TokenBucket

# A phone sends an answer now and then, and a ping; a burst of 10, then 5 per second.
PLAYER_BURST = 10
PLAYER_RATE = 5.0
HOST_BURST = 30
HOST_RATE = 10.0
# A client that keeps sending after being told to slow down is disconnected.
MAX_THROTTLED = 50

CLOSE_NO_SEAT = 4403
CLOSE_KICKED = 4001
CLOSE_THROTTLED = 4429

logger = logging.getLogger(__name__)


class GameConsumer(AsyncWebsocketConsumer):
    """What players and hosts share: JSON in and out, throttling, the clock, catching up on connect."""

    burst = PLAYER_BURST
    rate = PLAYER_RATE
    group: str | None = None
    is_host = False

    async def join_group_then_accept(self, group: str) -> bool:
        """Join the game's groups, and only then accept: a channel layer that is down (Redis
        restarting) refuses the handshake, so the screen backs off and retries, instead of
        being accepted and dropped at once, over and over.

        Two groups: the screen's own channel joins `group` (news for this player or the
        projectors), and this process's channel the game's screens group (changes of phase,
        handed to every screen of the process at once by `live.Screens`)."""
        try:
            await self.channel_layer.group_add(group, self.channel_name)
            await live.screens().ensure(self.game_id)
        except Exception as error:
            logger.warning("game %s: refusing a connection, the channel layer failed (%s)", self.game_id, error)
            await self.close()
            return False
        self.group = group
        await self.accept()
        live.screens().add(self.game_id, self, host=self.is_host)
        return True

    async def leave_group(self) -> None:
        group, self.group = self.group, None
        if group is None:
            return
        live.screens().discard(self.game_id, self)
        try:
            await self.channel_layer.group_discard(group, self.channel_name)
        except Exception as error:  # the layer forgets the channel by itself when it expires
            logger.warning("game %s: could not leave %s (%s)", self.game_id, group, error)

    async def disconnect(self, code):
        await self.leave_group()

    async def send_message(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":")))

    async def send_state(self, state: dict, extra: dict | None = None) -> None:
        await self.send_state_json(live.state_json(state), state["version"], state["deadline"], extra)

    async def send_state_json(self, state: str, version: int, deadline: int | None, extra: dict | None = None) -> None:
        text = '{"type":"state","state":' + state
        for key, value in (extra or {}).items():
            text += f',"{key}":' + json.dumps(value, separators=(",", ":"))
        await self.send(text_data=text + "}")
        # Every process serving the game keeps its clock; the database lets one of them win.
        live.clock().watch(self.game_id, version, deadline)

    async def catch_up(self, state: dict) -> None:
        """A deadline passed while nobody was watching: move the game on now."""
        if state["deadline"] is not None and state["deadline"] <= timing.to_ms(timing.now()):
            await live.run(services.advance_if_due, self.game_id, state["version"])

    async def refuse(self, code: int, error: str, message: str) -> None:
        await self.send_message({"type": "error", "code": error, "message": message})
        await self.close(code=code)

    async def receive(self, text_data=None, bytes_data=None):
        if not self.bucket.take():
            self.throttled += 1
            if self.throttled > MAX_THROTTLED:
                await self.refuse(CLOSE_THROTTLED, "throttled", "Too many messages: disconnected.")
            else:
                await self.send_message({"type": "throttled", "message": "Too many messages: slow down."})
            return
        try:
            content = json.loads(text_data or "")
        except ValueError:
            content = None
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_message({"type": "error", "code": "bad-message", "message": "Not a message."})
        elif content["type"] == "ping":  # the screen measures its clock's offset to the server's
            await self.send_message({"type": "pong", "ref": content.get("ref"), "now": timing.to_ms(timing.now())})
        elif content["type"] == "sync":  # the screen thinks it missed a change: the whole state again
            await self.send_snapshot()
        else:
            await self.handle(content)

    async def send_snapshot(self) -> None:
        raise NotImplementedError

    async def handle(self, content: dict) -> None:
        raise NotImplementedError

    def start_throttle(self) -> None:
        self.bucket = TokenBucket(self.burst, self.rate)
        self.throttled = 0


class PlayerConsumer(GameConsumer):
    async def connect(self):
        self.game_id = int(self.scope["url_route"]["kwargs"]["game_id"])
        self.player_id = None
        self.start_throttle()
        player = await game_database(services.seat_in_session)(self.scope["session"], self.game_id)
        if player is None or player.kicked:
            await self.accept()  # to say why, then close: the phone stops retrying
            if player is None:
                await self.refuse(CLOSE_NO_SEAT, "no-seat", "You have no seat in this game: join it with its PIN.")
            else:
                await self.refuse(CLOSE_KICKED, "kicked", services.REJECTIONS["removed"])
            return
        # In the group before the snapshot is taken, so that no change can fall between the two.
        self.player_id = player.pk
        if not await self.join_group_then_accept(live.players_group(self.game_id)):
            return
        await self.send_snapshot()

    async def send_snapshot(self) -> None:
        if self.player_id is None:
            return
        snapshot = await game_database(services.player_snapshot)(self.game_id, self.player_id)
        await self.send_state(snapshot["state"], {"me": snapshot["me"]})
        await self.catch_up(snapshot["state"])

    async def handle(self, content: dict) -> None:
        if content["type"] == "answer":
            received_at = timing.now()
            try:
                outcome = await live.answer_desk().submit(services.AnswerRequest(
                    self.game_id, self.player_id, content.get("question"), content.get("answer"), received_at))
            except DatabaseError:
                # The database is restarting: say so and keep the socket, so the phone can send again
                # (a crash here closed it, and the phone showed "Sending…" for an answer never stored).
                outcome = services.AnswerOutcome(False, "unavailable", services.REJECTIONS["unavailable"])
            await self.send_message({
                "type": "ack" if outcome.accepted else "rejected", "question": content.get("question"),
                "code": outcome.code, "message": outcome.message, "ref": content.get("ref"),
            })
            if outcome.accepted:
                live.clock().answer_arrived(self.game_id, outcome.version)
        else:
            await self.send_message({"type": "error", "code": "unknown", "message": "Players can only answer."})

    async def quiz_state(self, event):
        me = live.personal_news(event).get(str(self.player_id)) if event["personal"] else None
        await self.send_state_json(event["state"], event["version"], event["deadline"], {"me": me} if me else None)

    async def quiz_player(self, event):
        if event["player"] != self.player_id:
            return
        if event.get("kicked"):
            self.player_id = None
            await self.leave_group()
            await self.refuse(CLOSE_KICKED, "kicked", services.REJECTIONS["removed"])
        elif "me" in event:
            await self.send_message({"type": "me", "me": event["me"]})


class HostConsumer(GameConsumer):
    burst = HOST_BURST
    rate = HOST_RATE
    is_host = True

    async def connect(self):
        self.game_id = int(self.scope["url_route"]["kwargs"]["game_id"])
        self.hosting = False
        self.start_throttle()
        allowed = await game_database(services.may_host)(self.scope["user"], self.game_id)
        if not allowed:
            await self.accept()
            await self.refuse(CLOSE_NO_SEAT, "not-host", "Only the course's instructors and assistants run this game.")
            return
        self.hosting = True
        if not await self.join_group_then_accept(live.hosts_group(self.game_id)):
            return
        await self.send_snapshot()

    async def send_snapshot(self) -> None:
        if not self.hosting:
            return
        snapshot = await game_database(services.host_snapshot)(self.game_id)
        await self.send_state(snapshot["state"], {"players": snapshot["players"], "answered": snapshot["answered"]})
        await self.catch_up(snapshot["state"])

    async def handle(self, content: dict) -> None:
        command = content["type"]
        version = content.get("version")
        if command == "start":
            changed = await live.run(services.start_game, self.game_id, version)
        elif command == "next":
            changed = await live.run(services.advance, self.game_id, version)
        elif command == "end":
            changed = await live.run(services.end_game, self.game_id)
        elif command == "auto_advance":
            changed = await live.run(services.set_auto_advance, self.game_id, version, bool(content.get("on")))
        elif command in ("kick", "extra_time"):
            changed = await self.change_player(command, content.get("player"), bool(content.get("on")))
        else:
            await self.send_message({"type": "error", "code": "unknown", "message": f"Unknown command {command!r}."})
            return
        if not changed:
            # Someone else moved the game on first (another tab, the clock): show where it is.
            await self.send_message({"type": "stale", "message": "The game had already moved on."})
            await self.send_snapshot()

    async def change_player(self, command: str, player_id, on: bool) -> bool:
        if not isinstance(player_id, int):
            return False
        if command == "kick":
            player = await game_database(services.kick)(self.game_id, player_id)
            if player:
                await live.tell_player(self.game_id, player.pk, {"type": "quiz.player", "kicked": True})
                await live.tell_hosts(self.game_id, {"type": "quiz.player_left", "player": player.pk})
        else:
            player = await game_database(services.set_extra_time)(self.game_id, player_id, on)
            if player:
                await live.tell_player(self.game_id, player.pk,
                                       {"type": "quiz.player", "me": {"time_factor": player.time_factor}})
                await live.tell_hosts(self.game_id, {"type": "quiz.player_changed",
                                                     "player": services.host_player(player)})
        return player is not None

    async def quiz_state(self, event):
        await self.send_state_json(event["state"], event["version"], event["deadline"])

    async def quiz_answered(self, event):
        await self.send_message({"type": "answered", "version": event["version"], "answered": event["answered"],
                                 "players": event["players"]})

    async def quiz_player_joined(self, event):
        await self.send_message({"type": "player_joined", "player": event["player"]})

    async def quiz_player_left(self, event):
        await self.send_message({"type": "player_left", "player": event["player"]})

    async def quiz_player_changed(self, event):
        await self.send_message({"type": "player_changed", "player": event["player"]})
