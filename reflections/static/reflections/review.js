// The review page: while themes are computed, or while students may still answer, watch the
// computations; show progress, then the new themes.
(() => {
  "use strict";

  const box = document.getElementById("theme-status");
  if (!box || !window.AttentiveLive) return;
  if (box.dataset.busy !== "true" && box.dataset.open !== "true") return;
  const versions = JSON.parse(box.dataset.versions || "{}");
  const working = document.getElementById("themes-working");
  const updated = document.getElementById("themes-updated");

  // Reloading under someone typing a reply or a note would lose it: offer a button instead.
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

  function changed(data) {
    return data.computations.some(
      (computation) => computation.version !== (versions[computation.prompt] || 0) || computation.state === "failed",
    );
  }

  document.getElementById("show-new-themes").addEventListener("click", () => window.location.reload());

  AttentiveLive.poll(box.dataset.statusUrl, {
    intervalMs: 2000,
    onMessage(data) {
      data.computations.forEach(showProgress);
      const unannounced = data.busy && !document.querySelector("[data-computation]");
      working.hidden = !unannounced;
      if (data.busy || !changed(data)) return;
      if (somethingTyped()) {
        updated.hidden = false;
      } else {
        window.location.reload();
      }
    },
    // Stop once nothing is running and no more answers can come, or once there is news.
    until: (data) => !data.busy && (!data.open || changed(data)),
  });
})();
