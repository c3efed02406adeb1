// A live count under each text area with a maxlength: "1,234 of 5,000 characters". Without it the
// browser stops the typing (or cuts a paste) at the limit with no word said.
// Line breaks count one character each, as the server counts them.
(() => {
  "use strict";

  const format = new Intl.NumberFormat("en-US");

  function update(textarea, counter) {
    const limit = textarea.maxLength;
    const used = textarea.value.length;
    const full = used >= limit;
    counter.textContent = `${format.format(used)} of ${format.format(limit)} characters` +
      (full ? ": the limit. Shorten your answer to add more." : ".");
    counter.classList.toggle("at-limit", full);
  }

  for (const textarea of document.querySelectorAll("textarea[data-char-count]")) {
    const counter = document.getElementById(textarea.dataset.charCount);
    if (!counter || textarea.maxLength <= 0) continue;
    textarea.addEventListener("input", () => update(textarea, counter));
    update(textarea, counter);
  }
})();
