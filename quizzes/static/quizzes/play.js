// The player's phone. Everything shown comes from the server: a full state on every
// (re)connect and on every phase, plus acknowledgements of this player's answers.
(() => {
  "use strict";

  const { h, shape, shapeIcon, typeset, clock, countdown, resync, ordinal, points } = window.AttentiveQuiz;
  const root = document.getElementById("player");
  const stage = root.querySelector("[data-field=stage]");
  const connection = root.querySelector("[data-field=connection]");
  const showText = root.querySelector("[data-field=show-text]");
  const TEXT_KEY = "attentive-quiz-show-text";

  let state = null;
  let me = {};
  let notice = null; // {text, tone} shown under the current screen, e.g. a refusal; tone is its CSS class
  let draft = null; // this question's unsent answer (multiple choice, ordering, slider)
  let answeredQuestion = null; // the index of the question this phone's answer was received for

  showText.checked = localStorage.getItem(TEXT_KEY) === "1";
  showText.addEventListener("change", () => {
    localStorage.setItem(TEXT_KEY, showText.checked ? "1" : "0");
    render();
  });

  const live = window.AttentiveLive.connect(root.dataset.ws, {
    onOpen() {
      connection.textContent = "";
      connection.hidden = true;
      clock.measure(live);
    },
    onClose(event, { retryInMs }) {
      connection.hidden = false;
      if (retryInMs === null) return;
      connection.textContent = "Connection lost: reconnecting…";
    },
    shouldReconnect(event) {
      return ![4001, 4403, 4429].includes(event.code);
    },
    onMessage,
  });
  resync(live, () => state);

  function onMessage(message) {
    if (message.type === "state") {
      if (state && message.state.game === state.game && message.state.version < state.version) return;
      const newQuestion = !state || state.question_index !== message.state.question_index;
      state = message.state;
      if (message.me) {
        me = { ...me, ...message.me };
        if (me.answered) answeredQuestion = me.question_index;
      } else if (newQuestion) {
        me = { ...me, result: null };
      }
      if (newQuestion) draft = null;
      if (state.phase !== "answering") notice = null;
      render();
    } else if (message.type === "me") {
      me = { ...me, ...message.me };
      render();
    } else if (message.type === "ack") {
      answeredQuestion = message.question;
      notice = null;
      render();
    } else if (message.type === "rejected") {
      if (message.code === "duplicate") answeredQuestion = message.question;
      notice = { text: message.message, tone: "bad" };
      render();
    } else if (message.type === "pong") {
      clock.pong(message);
      render();
    } else if (message.type === "throttled") {
      notice = { text: message.message, tone: "warn" };
      render();
    } else if (message.type === "error") {
      if (message.code === "no-seat") {
        window.location.href = root.dataset.join;
        return;
      }
      stage.replaceChildren(h("p", { class: "big-message bad", text: message.message }));
      connection.hidden = true;
    }
  }

  function answer(payload) {
    if (!live.send({ type: "answer", question: state.question_index, answer: payload })) {
      notice = { text: "Not connected: your answer was not sent. Try again in a moment.", tone: "bad" };
      render();
      return;
    }
    notice = { text: "Sending…", tone: "" };
    render();
  }

  function header() {
    root.querySelector("[data-field=nickname]").textContent = me.nickname || "";
    root.querySelector("[data-field=score]").textContent = points(me.score);
    const team = root.querySelector("[data-field=team]");
    team.hidden = !me.team_name;
    team.textContent = me.team_name || "";
  }

  function questionText(question, always) {
    if (!question || (!always && !showText.checked)) return null;
    return h("div", { class: "play-question", html: question.text_html });
  }

  function progress() {
    return h("p", { class: "play-progress", text: `Question ${state.question_index + 1} of ${state.question_count}` });
  }

  function render() {
    if (!state) return;
    header();
    const screens = { lobby, question: reading, answering, reveal, scoreboard, podium };
    const children = (screens[state.phase] || lobby)();
    if (notice) children.push(h("p", { class: `notice-line ${notice.tone}`, role: "alert", text: notice.text }));
    stage.replaceChildren(...children.filter(Boolean));
    stage.dataset.phase = state.phase;
    typeset(stage);
  }

  function lobby() {
    return [
      h("p", { class: "big-message ok", text: "You're in!" }),
      h("p", { text: `Look for “${me.nickname}” on the screen. The game starts soon.` }),
    ];
  }

  function reading() {
    const timer = h("p", { class: "timer", "aria-live": "off" });
    countdown(timer, state.deadline);
    return [progress(), h("p", { class: "big-message", text: "Get ready…" }), questionText(state.question, true),
      h("p", { class: "muted", text: state.question.kind_label }), timer];
  }

  function myDeadline() {
    const question = state.question;
    return question.opened_at + question.time_limit * 1000 * Math.max(1, me.time_factor || 1);
  }

  function answering() {
    const question = state.question;
    const timer = h("p", { class: "timer", "aria-live": "off" });
    countdown(timer, myDeadline());
    if (answeredQuestion === state.question_index) {
      return [progress(), timer, h("p", { class: "big-message", text: "Answer received" }),
        h("p", { class: "muted", text: "Waiting for the others…" })];
    }
    const forms = {
      single: choiceButtons, true_false: choiceButtons, poll: choiceButtons, multiple: multipleChoice,
      type_answer: typedAnswer, word_cloud: typedAnswer, slider, ordering,
    };
    return [progress(), timer, questionText(question), (forms[question.kind] || choiceButtons)(question)];
  }

  function choiceButton(choice, { pressed = null, onclick }) {
    const text = showText.checked || state.question.kind === "true_false";
    return h("button", {
      type: "button",
      class: `answer-button shape-${shape(choice.id).name}${text ? " with-text" : ""}`,
      "aria-label": `${shape(choice.id).label}: ${choice.text}`,
      "aria-pressed": pressed === null ? null : String(pressed),
      onclick,
    }, [shapeIcon(choice.id), text ? h("span", { class: "answer-text", html: choice.html }) : null]);
  }

  function choiceButtons(question) {
    return h("div", { class: `answer-grid count-${question.choices.length}`, role: "group", "aria-label": "Answers" },
      question.choices.map((choice) => choiceButton(choice, { onclick: () => answer({ choice: choice.id }) })));
  }

  function multipleChoice(question) {
    draft = draft || new Set();
    const submit = h("button", {
      type: "button", class: "button primary big submit-answer", disabled: draft.size === 0,
      onclick: () => answer({ choices: [...draft].sort((a, b) => a - b) }),
    }, "Submit");
    const grid = h("div", { class: `answer-grid count-${question.choices.length}`, role: "group",
      "aria-label": "Select every right answer" },
    question.choices.map((choice) => choiceButton(choice, {
      pressed: draft.has(choice.id),
      onclick: () => {
        if (draft.has(choice.id)) draft.delete(choice.id);
        else draft.add(choice.id);
        render();
      },
    })));
    return h("div", {}, [h("p", { class: "muted", text: "Select every right answer, then submit." }), grid, submit]);
  }

  function typedAnswer(question) {
    const input = h("input", { type: "text", id: "typed-answer", maxlength: question.max_length, autocomplete: "off",
      autocapitalize: "none", spellcheck: "false" });
    const form = h("form", {
      class: "typed-answer",
      onsubmit: (event) => {
        event.preventDefault();
        if (input.value.trim()) answer({ text: input.value });
      },
    }, [
      h("label", { for: "typed-answer", text: question.kind === "word_cloud" ? "A word or two" : "Your answer" }),
      input,
      h("button", { type: "submit", class: "button primary big" }, "Submit"),
    ]);
    setTimeout(() => input.focus(), 0);
    return form;
  }

  function slider(question) {
    const middle = question.min + Math.round((question.max - question.min) / question.step / 2) * question.step;
    draft = draft === null ? middle : draft;
    const unit = question.unit ? ` ${question.unit}` : "";
    const output = h("output", { for: "slider-answer", class: "slider-value", text: `${draft}${unit}` });
    const input = h("input", {
      type: "range", id: "slider-answer", min: question.min, max: question.max, step: question.step, value: draft,
      oninput: () => {
        draft = Number(input.value);
        output.textContent = `${draft}${unit}`;
      },
    });
    return h("div", { class: "slider-answer" }, [
      h("label", { for: "slider-answer", text: `Choose a number from ${question.min} to ${question.max}` }),
      input, output,
      h("button", { type: "button", class: "button primary big", onclick: () => answer({ value: draft }) }, "Submit"),
    ]);
  }

  function ordering(question) {
    draft = draft || question.items.map((item) => item.id);
    const byId = Object.fromEntries(question.items.map((item) => [item.id, item]));
    const move = (index, by) => {
      const other = index + by;
      if (other < 0 || other >= draft.length) return;
      [draft[index], draft[other]] = [draft[other], draft[index]];
      render();
      const buttons = stage.querySelectorAll(`[data-move="${by}"]`);
      if (buttons[other]) buttons[other].focus();
    };
    return h("div", { class: "ordering" }, [
      h("p", { class: "muted", text: "Put the items in order, first at the top." }),
      h("ol", { class: "order-list" }, draft.map((id, index) => h("li", {}, [
        h("span", { class: "order-text", html: byId[id].html }),
        h("button", { type: "button", class: "button small", "data-move": "-1", disabled: index === 0,
          "aria-label": `Move “${byId[id].text}” up`, onclick: () => move(index, -1) }, "↑"),
        h("button", { type: "button", class: "button small", "data-move": "1", disabled: index === draft.length - 1,
          "aria-label": `Move “${byId[id].text}” down`, onclick: () => move(index, 1) }, "↓"),
      ]))),
      h("button", { type: "button", class: "button primary big", onclick: () => answer({ order: draft }) }, "Submit"),
    ]);
  }

  function standing() {
    const parts = [];
    if (me.rank) parts.push(h("p", { class: "rank", text: `You are ${ordinal(me.rank)}` }));
    parts.push(h("p", { text: `${points(me.score)} points in total${me.streak > 1 ? ` · answer streak ${me.streak}` : ""}` }));
    return parts;
  }

  function reveal() {
    const question = state.question;
    const result = me.result || {};
    const out = [progress()];
    if (result.joined_later) {
      // Seated after this question closed (it closes early once everyone seated has answered):
      // they never had it, so no "Time's up".
      out.push(h("p", { class: "big-message ok", text: "You're in!" }),
        h("p", { text: "This question closed just before you joined: the next one is yours." }));
    } else if (!question.graded) {
      out.push(h("p", { class: "big-message", text: result.answered ? "Thanks for your answer!" : "No answer this time" }));
    } else if (!result.answered) {
      out.push(h("p", { class: "big-message bad", text: "Time's up" }), h("p", { text: "No answer, no points." }));
    } else if (result.correct) {
      out.push(h("p", { class: "big-message ok", text: "Correct!" }));
    } else if (result.fraction > 0) {
      out.push(h("p", { class: "big-message warn", text: `Partly right (${Math.round(result.fraction * 100)}%)` }));
    } else {
      out.push(h("p", { class: "big-message bad", text: "Not quite" }));
    }
    if (question.graded && result.answered) {
      const bonus = result.streak_bonus ? ` (answer streak bonus +${result.streak_bonus})` : "";
      out.push(h("p", { class: "points", text: `+${points(result.points)} points${bonus}` }));
    }
    const solution = solutionText(question, state.reveal);
    if (solution) out.push(h("p", { class: "solution" }, [h("span", { text: "Right answer: " }), solution]));
    return out.concat(standing());
  }

  function solutionText(question, revealed) {
    if (!revealed) return null;
    if (revealed.correct && question.choices) {
      return h("span", { html: revealed.correct.map((id) => question.choices[id].html).join(" / ") });
    }
    if (revealed.accepted) return h("strong", { text: revealed.accepted.join(" / ") });
    if (revealed.answer !== undefined) {
      const tolerance = revealed.tolerance ? ` ± ${revealed.tolerance}` : "";
      return h("strong", { text: `${revealed.answer}${tolerance}${question.unit ? ` ${question.unit}` : ""}` });
    }
    if (revealed.order) return h("span", { html: revealed.order.map((id) => question.items[id].html).join(" → ") });
    return null;
  }

  function scoreboard() {
    const out = [h("p", { class: "big-message", text: "Scoreboard" })];
    const top = (state.leaders || []).find((leader) => leader.rank === me.rank && leader.nickname === me.nickname);
    if (top) out.push(h("p", { class: "ok", text: "You are in the top 5!" }));
    return out.concat(standing());
  }

  function podium() {
    return [
      h("p", { class: "big-message", text: "Game over" }),
      me.rank ? h("p", { class: `rank${me.rank <= 3 ? " top-rank" : ""}`, text: `${ordinal(me.rank)} place` }) : null,
      h("p", { text: `${points(me.score)} points` }),
      me.team_name && state.teams ? h("p", { text: teamLine() }) : null,
      h("p", { class: "muted", text: "Thanks for playing!" }),
    ];
  }

  function teamLine() {
    const team = state.teams.find((entry) => entry.team === me.team);
    return team ? `${me.team_name}: ${ordinal(team.rank)} with ${points(team.score)} points on average` : "";
  }
})();
