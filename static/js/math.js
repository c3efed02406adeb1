// Typesets the math that the server's Markdown renderer (markdown-it-py with
// the dollarmath plugin) leaves as TeX source:
//   <span class="math inline">a^2</span>        -> inline
//   <div class="math block">\sum_k ...</div>    -> display mode
//
// Needs static/vendor/katex/katex.min.js (window.katex) and katex.min.css.
// Without them, or when a formula does not parse, the TeX source simply stays
// on the page, which is still readable for a course audience.
//
// API: window.AttentiveMath.render(root = document) renders what is under
// root and not rendered yet; it runs on DOMContentLoaded and on htmx:load.
(() => {
  "use strict";

  const SELECTOR = ".math.inline, .math.block";
  const DONE = "data-math-rendered"; // textContent is no longer TeX afterwards

  function renderOne(el) {
    const source = el.textContent;
    const displayMode = el.classList.contains("block");
    try {
      // throwOnError: false makes KaTeX show a bad formula's source in red
      // with the parse error as its title, instead of throwing.
      window.katex.render(source, el, { displayMode, throwOnError: false });
      el.setAttribute(DONE, "");
    } catch (err) {
      // Anything else (e.g. an internal KaTeX error): put the source back.
      el.textContent = source;
      el.title = `Could not typeset this formula: ${err && err.message ? err.message : err}`;
      el.classList.add("math-error");
      el.setAttribute(DONE, "error");
    }
  }

  function render(root = document) {
    if (!window.katex) {
      console.warn("AttentiveMath: static/vendor/katex/katex.min.js is not loaded; leaving TeX source");
      return;
    }
    const found = root.matches && root.matches(SELECTOR) ? [root] : [];
    found.push(...root.querySelectorAll(SELECTOR));
    for (const el of found) {
      if (!el.hasAttribute(DONE)) renderOne(el);
    }
  }

  window.AttentiveMath = { render };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => render());
  } else {
    render();
  }
  document.addEventListener("htmx:load", (event) => render(event.detail.elt));
})();
