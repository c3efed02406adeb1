// Server-pushed updates for exercise pages and live quizzes. No dependencies.
//
//   const live = AttentiveLive.connect("/ws/quiz/42/", {
//     onMessage(data, event) {},   // data: parsed JSON (or the raw string if not JSON)
//     onOpen(event) {},
//     onClose(event, {retryInMs}), // retryInMs: null once we have stopped for good
//     shouldReconnect(event) {},   // optional; default: always, until live.close()
//   });
//   live.send({answer: 2});       // true if sent, false while disconnected
//   live.close();
//
//   const poller = AttentiveLive.poll("/attempts/7/status.json", {
//     intervalMs: 2000, onMessage(data) {}, until: (data) => data.done, onError(err) {},
//   });
//   poller.stop();
(() => {
  "use strict";

  const BASE_DELAY_MS = 500;
  const MAX_DELAY_MS = 10000;
  // Only a connection that stays up this long counts as healthy and resets the backoff: a
  // server that accepts and then drops every connection (its channel layer down) must see
  // its phones slow down, not come back twice a second each.
  const STABLE_AFTER_MS = 10000;

  // Exponential backoff with "equal jitter": half the step is fixed, half is
  // random, so a classroom of 200 laptops that lost the Wi-Fi together does not
  // reconnect in lockstep when it comes back.
  function backoff(attempt) {
    const step = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
    return step / 2 + Math.random() * (step / 2);
  }

  function socketUrl(path) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${path.startsWith("/") ? path : `/${path}`}`;
  }

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  function connect(path, { onMessage, onOpen, onClose, shouldReconnect } = {}) {
    const url = socketUrl(path);
    let socket = null;
    let attempt = 0;
    let timer = null;
    let stable = null; // resets the backoff once the connection has stayed up
    let closed = false; // set by close(): never reconnect after that

    function open() {
      timer = null;
      socket = new WebSocket(url);
      socket.addEventListener("open", (event) => {
        stable = setTimeout(() => {
          attempt = 0;
          stable = null;
        }, STABLE_AFTER_MS);
        if (onOpen) onOpen(event);
      });
      socket.addEventListener("message", (event) => {
        if (onMessage) onMessage(parse(event.data), event);
      });
      // "error" is always followed by "close", so all retrying happens there.
      socket.addEventListener("close", (event) => {
        socket = null;
        clearTimeout(stable);
        stable = null;
        const retry = !closed && (!shouldReconnect || shouldReconnect(event));
        const retryInMs = retry ? Math.round(backoff(attempt++)) : null;
        if (retry) timer = setTimeout(open, retryInMs);
        if (onClose) onClose(event, { retryInMs });
      });
    }

    // Back on the network: no point waiting out the rest of the backoff.
    function onOnline() {
      if (timer !== null) {
        clearTimeout(timer);
        open();
      }
    }
    window.addEventListener("online", onOnline);

    open();
    return {
      send(obj) {
        if (!socket || socket.readyState !== WebSocket.OPEN) return false;
        socket.send(JSON.stringify(obj));
        return true;
      },
      close(code = 1000, reason = "") {
        closed = true;
        clearTimeout(timer);
        clearTimeout(stable);
        timer = null;
        window.removeEventListener("online", onOnline);
        if (socket) socket.close(code, reason);
      },
      get connected() {
        return !!socket && socket.readyState === WebSocket.OPEN;
      },
    };
  }

  // Fallback when WebSockets are unavailable: fetch JSON every intervalMs
  // (waiting for each answer before scheduling the next, so a slow server is
  // never hit by overlapping requests) until `until(data)` is true or stop().
  function poll(url, { intervalMs = 2000, onMessage, until, onError } = {}) {
    let timer = null;
    let stopped = false;
    let failures = 0;

    async function tick() {
      timer = null;
      try {
        const response = await fetch(url, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          cache: "no-store",
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        failures = 0;
        if (stopped) return;
        if (onMessage) onMessage(data);
        if (until && until(data)) {
          stopped = true;
          return;
        }
      } catch (err) {
        failures += 1;
        if (onError) onError(err);
      }
      // After failures, slow down (up to the socket cap) instead of hammering.
      if (!stopped) timer = setTimeout(tick, failures ? Math.max(intervalMs, backoff(failures)) : intervalMs);
    }

    tick();
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
        timer = null;
      },
    };
  }

  window.AttentiveLive = { connect, poll };
})();
