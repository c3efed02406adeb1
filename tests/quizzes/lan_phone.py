"""A phone on the room's network, for the classroom-mode test: joins a game at a URL and prints what it got.

    python tests/quizzes/lan_phone.py http://ADDRESS:PORT PIN NICKNAME [USERNAME PASSWORD]...

It runs inside the test's network namespace, so it reaches the server only through the
address classroom mode printed. Prints one JSON object: the pages' statuses, where the join
led, the site's stylesheet as the join page names it and its status, the first state the
game's WebSocket sent, and for each USERNAME PASSWORD where signing in with them led (the
home page "/" when it worked, the sign-in page again when not).
"""

import http.cookiejar
import json
import re
import sys
import urllib.parse
import urllib.request

from websockets.sync.client import connect


def sign_in(base: str, username: str, password: str) -> str:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = opener.open(f"{base}/accounts/login/", timeout=20).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password}).encode()
    landed = opener.open(urllib.request.Request(f"{base}/accounts/login/", body, headers={"Origin": base}), timeout=20)
    return urllib.parse.urlsplit(landed.url).path


def main() -> None:
    base, pin, nickname = sys.argv[1:4]
    accounts = sys.argv[4:]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/play/{pin}/", timeout=20)
    form_page = form.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page).group(1)
    stylesheet = re.search(r'href="(/static/css/site[^"]*)"', form_page).group(1)
    stylesheet_status = opener.open(base + stylesheet, timeout=20).status
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "nickname": nickname}).encode()
    joined = opener.open(urllib.request.Request(f"{base}/play/{pin}/", body, headers={"Origin": base}), timeout=20)
    page = joined.read().decode()
    socket_path = re.search(r'data-ws="([^"]+)"', page).group(1)
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
    scheme_less = base.split("://", 1)[1]
    with connect(f"ws://{scheme_less}{socket_path}", additional_headers={"Cookie": cookies, "Origin": base},
                 open_timeout=20) as websocket:
        state = json.loads(websocket.recv(timeout=20))
    sign_ins = [[username, password, sign_in(base, username, password)]
                for username, password in zip(accounts[::2], accounts[1::2], strict=True)]
    print(json.dumps({"form": form.status, "joined": joined.status, "landed": joined.url, "state": state,
                      "stylesheet": [stylesheet, stylesheet_status], "sign_ins": sign_ins}))


if __name__ == "__main__":
    main()
