// Shared by the player's phone (play.js) and the host's projector (host.js).
//
//   AttentiveQuiz.h("p", {class: "x", text: "safe text"}, [children])   builds elements;
//     `html:` is only ever given HTML rendered by the server's Markdown renderer.
//   AttentiveQuiz.shape(i)        -> {name, label} of answer i (red triangle, blue diamond, ...)
//   AttentiveQuiz.clock           server-time offset, measured with ping/pong
//   AttentiveQuiz.countdown(el, deadlineMs, onEnd)   a ticking "12" in el
//   AttentiveQuiz.resync(live, () => state)   asks for the state again if a deadline passed unnoticed
(() => {
  "use strict";

  const SHAPES = [
    { name: "triangle", label: "red triangle" },
    { name: "diamond", label: "blue diamond" },
    { name: "circle", label: "yellow circle" },
    { name: "square", label: "green square" },
    { name: "star", label: "purple star" },
    { name: "hexagon", label: "teal hexagon" },
  ];

  function h(tag, attrs = {}, children = []) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") el.textContent = value;
      else if (key === "html") el.innerHTML = value;
      else if (key === "class") el.className = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : value);
    }
    for (const child of [].concat(children)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function shape(index) {
    return SHAPES[index % SHAPES.length];
  }

  function shapeIcon(index) {
    return h("span", { class: `shape shape-${shape(index).name}`, "aria-hidden": "true" });
  }

  function typeset(root) {
    if (window.AttentiveMath) window.AttentiveMath.render(root);
  }

  // Server time = client time + offset. Phones' clocks are often minutes off, and the
  // server owns the clock: countdowns use the server's deadlines with this offset.
  const clock = {
    offset: 0,
    now() {
      return Date.now() + this.offset;
    },
    measure(live) {
      const sentAt = Date.now();
      this.pending = sentAt;
      live.send({ type: "ping", ref: sentAt });
    },
    pong(message) {
      if (message.ref !== this.pending) return;
      const receivedAt = Date.now();
      this.offset = message.now - (message.ref + receivedAt) / 2;
    },
  };

  // The server moves a game on at each deadline and tells every screen. Should that news be
  // lost on the way (a network hiccup, a channel layer restarting), a screen still showing a
  // phase whose deadline passed a few seconds ago asks for the whole state again.
  const STALE_AFTER_MS = 3000;
  function resync(live, currentState) {
    let askedAt = 0;
    setInterval(() => {
      const state = currentState();
      if (!state || !state.deadline || clock.now() < state.deadline + STALE_AFTER_MS) return;
      if (Date.now() - askedAt < STALE_AFTER_MS) return;
      askedAt = Date.now();
      live.send({ type: "sync" });
    }, 1000);
  }

  // Only one countdown ticks at a time on a page.
  let ticking = null;
  function countdown(el, deadlineMs, onEnd) {
    if (ticking) clearInterval(ticking);
    ticking = null;
    if (!deadlineMs) return;
    const tick = () => {
      const left = Math.max(0, Math.ceil((deadlineMs - clock.now()) / 1000));
      el.textContent = String(left);
      el.setAttribute("aria-label", `${left} seconds left`);
      if (left <= 0) {
        clearInterval(ticking);
        ticking = null;
        if (onEnd) onEnd();
      }
    };
    tick();
    ticking = setInterval(tick, 250);
  }

  function ordinal(n) {
    const tens = n % 100;
    if (tens >= 11 && tens <= 13) return `${n}th`;
    return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th"}`;
  }

  function points(n) {
    return Number(n || 0).toLocaleString("en");
  }

  // A bar chart of answers: label, count and whether the bar is a right answer.
  function bars(list, { shapes = false } = {}) {
    const largest = Math.max(1, ...list.map((bar) => bar.count));
    return h(
      "ul",
      { class: "bars", "aria-label": "Answers" },
      list.map((bar, index) =>
        h("li", { class: `bar${bar.correct ? " is-correct" : ""}${shapes ? ` shape-${shape(index).name}` : ""}` }, [
          h("span", { class: "bar-label" }, [
            shapes ? shapeIcon(index) : null,
            h("span", { html: bar.html || "", text: bar.html ? null : bar.label }),
            bar.correct ? h("span", { class: "badge ok", text: "right" }) : null,
          ]),
          h("span", { class: "bar-track" }, // A class per whole percent (quiz.css): the Content-Security-Policy forbids style attributes.
          h("span", { class: `bar-fill width-${Math.round((100 * bar.count) / largest)}` })),
          h("span", { class: "bar-count", text: String(bar.count) }),
        ]),
      ),
    );
  }

  window.AttentiveQuiz = { h, shape, shapeIcon, typeset, clock, countdown, resync, ordinal, points, bars };
})();
