// The review page while themes are being computed: show progress, then the new themes.
(() => {
  "use strict";

  const box = document.getElementById("theme-status");
  if (!box || box.dataset.busy !== "true" || !window.AttentiveLive) return;
  const versions = JSON.parse(box.dataset.versions || "{}");
  const notice = document.getElementById("themes-updated");

  // Reloading under someone typing a reply or a note would lose it: ask instead.
  function somethingTyped() {
    return [...document.querySelectorAll("textarea, input[type=text]")].some(
      (field) => field.value !== field.defaultValue,
    );
  }

  function showProgress(computation) {
    const row = document.querySelector(`[data-computation="${computation.prompt}"]`);
    if (!row) return;
    row.querySelector(".stage").textContent = computation.stage || computation.state_label;
    const bar = row.querySelector("progress");
    if (computation.total) {
      bar.max = computation.total;
      bar.value = computation.done;
      bar.textContent = `${computation.done} / ${computation.total}`;
    } else {
      bar.removeAttribute("value");
    }
  }

  document.getElementById("show-new-themes").addEventListener("click", () => window.location.reload());

  AttentiveLive.poll(box.dataset.statusUrl, {
    intervalMs: 1500,
    onMessage(data) {
      data.computations.forEach(showProgress);
      if (data.busy) return;
      const changed = data.computations.some(
        (computation) => computation.version !== (versions[computation.prompt] || 0) || computation.state === "failed",
      );
      if (!changed) return;
      if (somethingTyped()) {
        notice.hidden = false;
      } else {
        window.location.reload();
      }
    },
    until: (data) => !data.busy,
  });
})();
