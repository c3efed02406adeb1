"""A phone on the room's network, for the classroom-mode test: joins a game at a URL and prints what it got.

    python tests/quizzes/lan_phone.py http://ADDRESS:PORT PIN NICKNAME

It runs inside the test's network namespace, so it reaches the server only through the
address classroom mode printed. Prints one JSON object: the pages' statuses, where the join
led, and the first state the game's WebSocket sent.
"""

import http.cookiejar
import json
import re
import sys
import urllib.parse
import urllib.request

from websockets.sync.client import connect


def main() -> None:
    base, pin, nickname = sys.argv[1:4]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/play/{pin}/", timeout=20)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.read().decode()).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "nickname": nickname}).encode()
    joined = opener.open(urllib.request.Request(f"{base}/play/{pin}/", body, headers={"Origin": base}), timeout=20)
    page = joined.read().decode()
    socket_path = re.search(r'data-ws="([^"]+)"', page).group(1)
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
    scheme_less = base.split("://", 1)[1]
    with connect(f"ws://{scheme_less}{socket_path}", additional_headers={"Cookie": cookies, "Origin": base},
                 open_timeout=20) as websocket:
        state = json.loads(websocket.recv(timeout=20))
    print(json.dumps({"form": form.status, "joined": joined.status, "landed": joined.url, "state": state}))


if __name__ == "__main__":
    main()
