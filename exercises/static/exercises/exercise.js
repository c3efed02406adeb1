// The exercise page's live verdict: after a submission, show queued -> running -> verdict in
// place. The server pushes status changes over a WebSocket when it can (Redis deployments);
// otherwise, and whenever the socket fails, the page polls a small JSON status instead.
// After a submission the verdict is brought into view, each change is announced in one
// sentence to screen readers, and "Your attempts" follows without a reload.
(() => {
  "use strict";

  const area = document.getElementById("verdict");
  if (!area) return;
  const canPush = area.dataset.livePush === "true";
  const announcer = document.getElementById("verdict-announcer");
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  let stopWatching = () => {};
  // Only a verdict the student asked for on this page may move the page; one shown at load may not.
  let followingSubmission = false;

  function current() {
    return area.querySelector(".verdict[data-submission-id]");
  }

  function announce(card) {
    if (announcer && card && card.dataset.announce) announcer.textContent = card.dataset.announce;
  }

  // Scroll only when the verdict is not wholly on screen, and then to its top: a long
  // verdict is read from its score down.
  function bringIntoView(card) {
    const box = card.getBoundingClientRect();
    const height = window.innerHeight || document.documentElement.clientHeight;
    if (box.top >= 0 && box.bottom <= height) return;
    card.scrollIntoView({ block: "start", behavior: reducedMotion.matches ? "auto" : "smooth" });
  }

  async function refreshHistory() {
    const history = document.getElementById("history");
    if (!history || !history.dataset.historyUrl) return;
    const response = await fetch(history.dataset.historyUrl, { headers: { "HX-Request": "true" } });
    if (!response.ok) return;
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim();
    const fresh = holder.content.firstElementChild;
    if (fresh) history.replaceWith(fresh);
  }

  function shown(card) {
    if (!card) return;
    announce(card);
    if (followingSubmission) bringIntoView(card);
  }

  async function refresh(card) {
    const response = await fetch(card.dataset.partialUrl, { headers: { "HX-Request": "true" } });
    if (!response.ok) return;
    area.innerHTML = await response.text();
    if (window.AttentiveMath) window.AttentiveMath.render(area);
    const fresh = current();
    shown(fresh);
    if (fresh && fresh.dataset.finished === "true") refreshHistory();
    watch();
  }

  function watch() {
    stopWatching();
    const card = current();
    if (!card || card.dataset.finished === "true") return;
    const shown = card.dataset.status;
    let poller = null;
    let socket = null;
    let active = true;
    const onStatus = (data) => {
      if (data && data.status && data.status !== shown) {
        stopWatching();
        refresh(card);
      }
    };
    const startPolling = (intervalMs) => {
      if (poller || !active) return;
      poller = window.AttentiveLive.poll(card.dataset.statusUrl, {
        intervalMs,
        onMessage: onStatus,
        until: (data) => data.status !== shown,
      });
    };
    if (canPush) {
      socket = window.AttentiveLive.connect(`/ws/submissions/${card.dataset.submissionId}/`, {
        onMessage: onStatus,
        // The socket dropped: poll until it is back, so nothing is missed meanwhile.
        onClose: () => startPolling(1000),
      });
    } else {
      startPolling(250);
    }
    stopWatching = () => {
      active = false;
      if (poller) poller.stop();
      if (socket) socket.close();
      poller = null;
      socket = null;
    };
  }

  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== area) return;
    followingSubmission = true;
    shown(current());
    watch();
  });

  const form = document.getElementById("answer-form");
  if (form) {
    // Disabling the Submit button during the request takes the focus away from it; give it back
    // afterwards, where it was, instead of leaving it on the page's body.
    let focusedBefore = null;
    form.addEventListener("htmx:beforeRequest", () => {
      focusedBefore = document.activeElement;
    });
    form.addEventListener("htmx:afterRequest", () => {
      const previous = focusedBefore;
      focusedBefore = null;
      setTimeout(() => {
        const lost = !document.activeElement || document.activeElement === document.body;
        if (lost && previous && previous.isConnected && !previous.disabled) previous.focus({ preventScroll: true });
      });
    });
    // Ctrl+Enter (Cmd+Enter on a Mac) submits from anywhere in the answer form.
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  watch();
})();
