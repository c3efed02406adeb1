// The host's projector: shows what the server says and sends the host's commands.
// Reloading the page is safe: the server sends the whole state on every connect.
(() => {
  "use strict";

  const { h, shape, shapeIcon, typeset, clock, countdown, resync, ordinal, points, bars } = window.AttentiveQuiz;
  const root = document.getElementById("host");
  const stage = root.querySelector("[data-field=stage]");
  const lobbySection = root.querySelector("[data-field=lobby]");
  const playerList = root.querySelector("[data-field=players]");
  const playerCount = root.querySelector("[data-field=player-count]");
  const connection = root.querySelector("[data-field=connection]");
  const progressLine = root.querySelector("[data-field=progress]");
  const nextButton = root.querySelector("[data-action=next]");
  const endButton = root.querySelector("[data-action=end]");
  const autoAdvance = root.querySelector("[data-action=auto_advance]");

  let state = null;
  let players = new Map();
  let answered = { answered: 0, players: 0 };

  const live = window.AttentiveLive.connect(root.dataset.ws, {
    onOpen() {
      connection.hidden = true;
      clock.measure(live);
    },
    onClose(event, { retryInMs }) {
      connection.hidden = false;
      connection.textContent = retryInMs === null ? "Disconnected." : "Connection lost: reconnecting…";
    },
    shouldReconnect: (event) => ![4403, 4429].includes(event.code),
    onMessage,
  });
  resync(live, () => state);

  function send(command) {
    if (!live.send(command)) {
      connection.hidden = false;
      connection.textContent = "Not connected: try again in a moment.";
    }
  }

  function onMessage(message) {
    switch (message.type) {
      case "state":
        if (state && message.state.version < state.version) return;
        if (!state || state.question_index !== message.state.question_index) answered = { answered: 0, players: 0 };
        state = message.state;
        if (message.players) players = new Map(message.players.map((player) => [player.id, player]));
        if (message.answered !== undefined) answered = { answered: message.answered, players: players.size };
        render();
        break;
      case "answered":
        if (state && message.version === state.version) {
          answered = message;
          renderAnswered();
        }
        break;
      case "player_joined":
        players.set(message.player.id, message.player);
        playersChanged();
        break;
      case "player_left":
        players.delete(message.player);
        playersChanged();
        break;
      case "player_changed":
        players.set(message.player.id, message.player);
        renderPlayers();
        break;
      case "pong":
        clock.pong(message);
        break;
      case "stale":
        flash(message.message);
        break;
      case "error":
        stage.replaceChildren(h("p", { class: "big-message bad", text: message.message }));
        break;
      default:
    }
  }

  function flash(text) {
    connection.hidden = false;
    connection.textContent = text;
    setTimeout(() => {
      connection.hidden = true;
    }, 2500);
  }

  // -- controls ------------------------------------------------------------------------

  const NEXT_LABELS = {
    lobby: "Start",
    question: "Open answers now",
    answering: "Stop answers",
    reveal: "Scoreboard",
    scoreboard: "Next question",
    podium: "See the report",
  };

  function next() {
    if (!state || nextButton.disabled) return;
    if (state.phase === "podium") {
      window.location.href = root.dataset.report;
    } else if (state.phase === "lobby") {
      send({ type: "start", version: state.version });
    } else {
      send({ type: "next", version: state.version });
    }
  }

  nextButton.addEventListener("click", next);
  endButton.addEventListener("click", () => {
    if (window.confirm("End the game now? Players see the podium; the report keeps what was played.")) {
      send({ type: "end" });
    }
  });
  autoAdvance.addEventListener("change", () => {
    send({ type: "auto_advance", on: autoAdvance.checked, version: state && state.version });
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    // On a focused button or link, Enter and Space already press it.
    const onControl = event.target.closest("button, a");
    if (event.key === "ArrowRight" || (!onControl && (event.key === "Enter" || event.key === " "))) {
      event.preventDefault();
      next();
    }
  });

  function renderControls() {
    let label = NEXT_LABELS[state.phase];
    if (state.phase === "scoreboard" && state.question_index + 1 >= state.question_count) label = "Podium";
    nextButton.textContent = label;
    nextButton.disabled = false;
    endButton.hidden = state.phase === "podium";
    autoAdvance.checked = state.auto_advance;
    autoAdvance.parentElement.hidden = state.phase === "podium";
    progressLine.textContent = state.question_index >= 0
      ? `Question ${Math.min(state.question_index + 1, state.question_count)} of ${state.question_count}` : "";
  }

  // -- screens ---------------------------------------------------------------------------

  function render() {
    renderControls();
    lobbySection.hidden = state.phase !== "lobby";
    const screens = { lobby: () => [], question: reading, answering, reveal, scoreboard, podium };
    stage.replaceChildren(...(screens[state.phase] || (() => []))().filter(Boolean));
    stage.dataset.phase = state.phase;
    renderPlayers();
    typeset(stage);
  }

  function renderPlayers() {
    playerCount.textContent = String(players.size);
    if (!state || state.phase !== "lobby") return;
    playerList.replaceChildren(...[...players.values()].map((player) => h("li", { class: "lobby-player" }, [
      h("button", {
        type: "button", class: "nickname", title: "Remove this player",
        "aria-label": `Remove ${player.nickname} from the game`,
        onclick: () => {
          if (window.confirm(`Remove “${player.nickname}” from the game?`)) send({ type: "kick", player: player.id });
        },
      }, player.nickname),
      h("button", {
        type: "button", class: `extra-time${player.extra_time ? " on" : ""}`, "aria-pressed": String(player.extra_time),
        "aria-label": `Extra time for ${player.nickname}`,
        onclick: () => send({ type: "extra_time", player: player.id, on: !player.extra_time }),
      }, "+ time"),
    ])));
  }

  // A player who joins while a question is open plays it: "2 of 3 answered" counts them at once.
  function playersChanged() {
    answered = { ...answered, players: players.size };
    renderPlayers();
    renderAnswered();
  }

  function renderAnswered() {
    const el = stage.querySelector("[data-field=answered]");
    if (el) el.textContent = `${answered.answered} of ${answered.players || players.size} answered`;
  }

  function questionBlock(question, { withImage = true } = {}) {
    return [
      h("div", { class: "host-question", html: question.text_html }),
      withImage && question.image_url ? h("img", { class: "question-image", src: question.image_url, alt: "" }) : null,
    ];
  }

  function reading() {
    const question = state.question;
    const timer = h("p", { class: "timer" });
    countdown(timer, state.deadline);
    return [h("p", { class: "host-kind", text: `${question.kind_label} · ${question.points ? `${question.points} points` : "no points"}` }),
      ...questionBlock(question), timer];
  }

  function choiceTiles(question, revealed) {
    const correct = new Set((revealed && revealed.correct) || []);
    return h("ul", { class: `answer-tiles count-${question.choices.length}` }, question.choices.map((choice) =>
      h("li", { class: `answer-tile shape-${shape(choice.id).name}${revealed && !correct.has(choice.id) && question.graded ? " dimmed" : ""}` }, [
        shapeIcon(choice.id),
        h("span", { class: "visually-hidden", text: `${shape(choice.id).label}: ` }),
        h("span", { html: choice.html }),
        revealed && correct.has(choice.id) ? h("span", { class: "tick", "aria-label": "right answer", text: "✓" }) : null,
      ])));
  }

  function answerArea(question) {
    if (question.choices) return choiceTiles(question, null);
    if (question.items) {
      return h("ul", { class: "order-tiles" }, question.items.map((item) => h("li", { html: item.html })));
    }
    if (question.kind === "slider") {
      return h("p", { class: "big-message", text: `Slide from ${question.min} to ${question.max}${question.unit ? ` ${question.unit}` : ""}` });
    }
    return h("p", { class: "big-message", text: question.kind === "word_cloud" ? "Type a word or two on your phone" : "Type your answer on your phone" });
  }

  function answering() {
    const question = state.question;
    const timer = h("p", { class: "timer" });
    countdown(timer, question.opened_at + question.time_limit * 1000);
    return [
      ...questionBlock(question),
      h("div", { class: "answering-status" }, [timer,
        h("p", { class: "answered", "data-field": "answered", text: `${answered.answered} of ${answered.players || players.size} answered` })]),
      answerArea(question),
    ];
  }

  // One column per answer, in the tiles' order and colours, its count on top: readable from the back.
  function columnChart(question, revealed) {
    const list = revealed.bars || [];
    const largest = Math.max(1, ...list.map((bar) => bar.count));
    return h("ul", { class: "bars columns", "aria-label": "Answers" }, list.map((bar, index) => {
      const fill = h("span", { class: "bar-fill" });
      // A custom property set through the CSSOM, not a style attribute (the Content-Security-Policy).
      fill.style.setProperty("--share", String(bar.count / largest));
      const choice = question.choices[index];
      return h("li", { class: `bar shape-${shape(index).name}${bar.correct ? " is-correct" : ""}` }, [
        h("span", { class: "bar-count", text: String(bar.count) }),
        h("span", { class: "bar-track", "aria-hidden": "true" }, fill),
        h("span", { class: "bar-label" }, [
          shapeIcon(index),
          h("span", { class: "visually-hidden", html: `${shape(index).label}: ${choice ? choice.html : ""}` }),
          bar.correct ? h("span", { class: "tick", "aria-label": "right answer", text: "✓" }) : null,
        ]),
      ]);
    }));
  }

  function reveal() {
    const question = state.question;
    const revealed = state.reveal || {};
    const out = [...questionBlock(question, { withImage: false })];
    if (question.choices) {
      out.push(columnChart(question, revealed), choiceTiles(question, revealed));
    } else if (question.kind === "word_cloud") {
      out.push(wordCloud(revealed.bars || []));
    } else {
      if (question.items && revealed.order) {
        out.push(h("ol", { class: "order-tiles revealed" }, revealed.order.map((id) => h("li", { html: question.items[id].html }))));
      }
      if (revealed.accepted) out.push(h("p", { class: "big-message ok", text: revealed.accepted.join(" / ") }));
      if (revealed.answer !== undefined) {
        const tolerance = revealed.tolerance ? ` ± ${revealed.tolerance}` : "";
        out.push(h("p", { class: "big-message ok", text: `${revealed.answer}${tolerance}${question.unit ? ` ${question.unit}` : ""}` }));
      }
      out.push(bars(revealed.bars || []));
    }
    const summary = [`${revealed.answered || 0} of ${revealed.players || 0} answered`];
    if (question.graded && revealed.players) {
      summary.push(`${Math.round((100 * (revealed.right || 0)) / revealed.players)}% right`);
    }
    out.push(h("p", { class: "host-summary", text: summary.join(" · ") }));
    return out;
  }

  function wordCloud(list) {
    const largest = Math.max(1, ...list.map((word) => word.count));
    return h("ul", { class: "word-cloud", "aria-label": "Word cloud" }, list.map((word) => h("li", {
      class: `cloud-size-${Math.round((10 * word.count) / largest)}`, // quiz.css: 1rem to 3.2rem
      "aria-label": `${word.label}: ${word.count}`,
      text: word.label,
    })));
  }

  function leaderRow(leader) {
    return h("li", { class: "leader" }, [
      h("span", { class: "leader-rank", text: ordinal(leader.rank) }),
      h("span", { class: "leader-name", text: leader.nickname }),
      leader.streak > 1 ? h("span", { class: "streak", text: `streak ${leader.streak}` }) : null,
      leader.climb > 0 ? h("span", { class: "climb", title: "places gained", text: `▲ ${leader.climb}` }) : null,
      h("span", { class: "leader-score", text: points(leader.score) }),
    ]);
  }

  function teamsBlock() {
    if (!state.teams || !state.teams.length) return null;
    return h("section", { class: "teams" }, [
      h("h2", { text: "Teams" }),
      h("ol", { class: "leaders" }, state.teams.map((team) => h("li", { class: "leader" }, [
        h("span", { class: "leader-rank", text: ordinal(team.rank) }),
        h("span", { class: "leader-name", text: `${team.name} (${team.members})` }),
        h("span", { class: "leader-score", text: points(team.score) }),
      ]))),
    ]);
  }

  function scoreboard() {
    const climbers = state.climbers || [];
    return [
      h("h1", { class: "stage-title", text: "Scoreboard" }),
      h("ol", { class: "leaders" }, (state.leaders || []).map(leaderRow)),
      climbers.length ? h("p", { class: "climbers", text: `Climbing: ${climbers.map((c) => `${c.nickname} ▲${c.climb}`).join(", ")}` }) : null,
      teamsBlock(),
    ];
  }

  function podium() {
    const leaders = state.leaders || [];
    const order = [leaders[1], leaders[0], leaders[2]].filter(Boolean);
    return [
      h("h1", { class: "stage-title", text: "Podium" }),
      leaders.length ? h("ol", { class: "podium" }, order.map((leader) => h("li", { class: `step step-${leader.rank}` }, [
        h("span", { class: "podium-name", text: leader.nickname }),
        h("span", { class: "podium-score", text: `${points(leader.score)} points` }),
        h("span", { class: "podium-rank", text: ordinal(leader.rank) }),
      ]))) : h("p", { text: "Nobody played." }),
      teamsBlock(),
    ];
  }
})();
