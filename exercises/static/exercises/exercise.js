// The exercise page's live verdict: after a submission, show queued -> running -> verdict in
// place. The server pushes status changes over a WebSocket when it can (Redis deployments);
// otherwise, and whenever the socket fails, the page polls a small JSON status instead.
(() => {
  "use strict";

  const area = document.getElementById("verdict");
  if (!area) return;
  const canPush = area.dataset.livePush === "true";
  let stopWatching = () => {};

  function current() {
    return area.querySelector(".verdict[data-submission-id]");
  }

  async function refresh(card) {
    const response = await fetch(card.dataset.partialUrl, { headers: { "HX-Request": "true" } });
    if (!response.ok) return;
    area.innerHTML = await response.text();
    if (window.AttentiveMath) window.AttentiveMath.render(area);
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
    if (event.detail.target === area) watch();
  });

  // Ctrl+Enter (Cmd+Enter on a Mac) submits from anywhere in the answer form.
  const form = document.getElementById("answer-form");
  if (form) {
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  watch();
})();
