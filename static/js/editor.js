// Progressive enhancement of <textarea data-editor="python"> into a CodeMirror 6 editor.
//
// Needs static/vendor/codemirror.js (window.AttentiveCodeMirror) loaded first.
// The textarea stays the source of truth: it is only hidden, never removed, and
// its value is rewritten on every change, so an ordinary form POST submits the
// code, and if this script or the bundle fails to load the page still works
// with the plain textarea.
//
// Attributes read from the textarea:
//   data-editor="python"        enhance this textarea
//   readonly / disabled         read-only editor (still focusable and selectable)
//   rows                        minimum visible height, in lines
//   placeholder                 shown in an empty editor
//   data-editor-draft-url="…"   POST {code} there (debounced 1 s) on change
//
// API: window.AttentiveEditor.get(textarea) -> {getValue(), setValue(text),
//      onChange(cb) -> unsubscribe, focus(), view} or null;
//      window.AttentiveEditor.mount(root) enhances textareas under root
//      (done for document on DOMContentLoaded and for htmx-inserted content).
(() => {
  "use strict";

  const DRAFT_DELAY_MS = 1000;
  const HINT =
    "Code editor. Tab indents and Shift-Tab dedents. " +
    "To move focus out with the keyboard, press Escape, then Tab.";

  const editors = new WeakMap(); // textarea -> API object
  let hintCount = 0;

  // Django sets the csrftoken cookie; when CSRF_COOKIE_HTTPONLY is on the page
  // must carry <meta name="csrf-token" content="{{ csrf_token }}"> instead.
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The status line for this textarea's drafts: the nearest one in the same
  // form (several editors on one page each have their own), else the page's.
  function statusElementFor(textarea) {
    const scope = textarea.form || textarea.parentElement || document;
    const el = scope.querySelector("[data-editor-status]") || document.querySelector("[data-editor-status]");
    if (el && !el.hasAttribute("aria-live")) el.setAttribute("aria-live", "polite");
    return el;
  }

  // Saves drafts one request at a time, always the latest text, and only when
  // it differs from what the server last accepted. A failure is not retried on
  // a timer (the classroom Wi-Fi may be down for minutes); the next change
  // tries again.
  function draftSaver(textarea, url, getValue) {
    const status = statusElementFor(textarea);
    const show = (text) => {
      if (status) status.textContent = text;
    };
    let saved = getValue(); // what the page was served with needs no saving
    let timer = null;
    let inFlight = false;
    let again = false;

    async function save() {
      timer = null;
      if (inFlight) {
        again = true; // send the newest text once the current request ends
        return;
      }
      const code = getValue();
      if (code === saved) return;
      inFlight = true;
      const body = new FormData();
      body.append("code", code);
      try {
        const response = await fetch(url, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
        });
        if (!response.ok) {
          // The server refused it (too long, say) and said why: show that, not "offline".
          const refusal = await response.json().catch(() => null);
          show(refusal && refusal.error ? refusal.error : `Draft not saved (the server answered ${response.status}).`);
          return;
        }
        saved = code;
        show("Draft saved");
      } catch (err) {
        show("Draft not saved (offline?)");
      } finally {
        inFlight = false;
        if (again) {
          again = false;
          save();
        }
      }
    }

    return {
      changed() {
        clearTimeout(timer);
        timer = setTimeout(save, DRAFT_DELAY_MS);
      },
      // The form is being submitted: the real submission supersedes the draft.
      cancel() {
        clearTimeout(timer);
        timer = null;
      },
      // Leaving the page with a change still waiting for its debounce: hand it
      // to the browser, which sends a beacon even as the page unloads. A beacon
      // cannot set headers, so the token travels as Django's form field.
      flush() {
        if (timer === null) return;
        this.cancel();
        const code = getValue();
        if (code === saved || !navigator.sendBeacon) return;
        const body = new FormData();
        body.append("code", code);
        body.append("csrfmiddlewaretoken", csrfToken());
        navigator.sendBeacon(url, body);
      },
    };
  }

  function accessibleLabel(textarea) {
    const label = textarea.labels && textarea.labels[0];
    if (label && label.textContent.trim()) return label.textContent.trim();
    return textarea.getAttribute("aria-label") || "Python code";
  }

  function create(textarea) {
    const CM = window.AttentiveCodeMirror;
    const readOnly = textarea.readOnly || textarea.disabled;
    const listeners = new Set();

    // A visible hint, also tied to the editor with aria-describedby, because
    // trapping Tab is only acceptable when the way out is announced.
    const hint = document.createElement("p");
    hint.className = "attentive-editor-hint";
    hint.id = `attentive-editor-hint-${++hintCount}`;
    hint.textContent = readOnly ? "Read-only code." : HINT;
    const describedBy = [textarea.getAttribute("aria-describedby"), hint.id].filter(Boolean).join(" ");

    const rows = Math.max(parseInt(textarea.getAttribute("rows"), 10) || 10, 3);
    const extensions = [
      CM.lineNumbers(),
      CM.highlightActiveLineGutter(),
      CM.highlightSpecialChars(),
      CM.history(),
      CM.drawSelection(),
      CM.dropCursor(),
      CM.EditorState.allowMultipleSelections.of(true),
      CM.indentOnInput(),
      CM.syntaxHighlighting(CM.defaultHighlightStyle, { fallback: true }),
      CM.bracketMatching(),
      CM.closeBrackets(),
      CM.autocompletion(),
      CM.rectangularSelection(),
      CM.crosshairCursor(),
      CM.highlightActiveLine(),
      CM.highlightSelectionMatches(),
      CM.search({ top: true }),
      // PEP 8: four spaces. lang-python leaves the unit at CodeMirror's default of two.
      CM.indentUnit.of("    "),
      CM.EditorState.tabSize.of(4),
      CM.keymap.of([
        ...CM.closeBracketsKeymap,
        ...CM.defaultKeymap, // includes Escape handling and Ctrl-M (toggle Tab focus mode)
        ...CM.searchKeymap,
        ...CM.historyKeymap,
        ...CM.completionKeymap,
        CM.indentWithTab,
      ]),
      CM.python(),
      CM.EditorState.readOnly.of(readOnly),
      CM.EditorView.contentAttributes.of({
        "aria-label": accessibleLabel(textarea),
        "aria-describedby": describedBy,
      }),
      CM.EditorView.theme({
        "&": { border: "1px solid #8a8a8a", borderRadius: "4px", fontSize: "0.95rem", background: "#fff" },
        "&.cm-focused": { outline: "2px solid #1a5fb4", outlineOffset: "1px" },
        ".cm-scroller": {
          fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
          lineHeight: "1.45",
          minHeight: `${(rows * 1.45).toFixed(2)}em`,
        },
      }),
      CM.EditorView.updateListener.of((update) => {
        if (!update.docChanged) return;
        const value = update.state.doc.toString();
        textarea.value = value;
        // Let listeners on the textarea (e.g. hx-trigger="input") see edits too.
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
        for (const callback of listeners) callback(value);
      }),
    ];
    if (textarea.placeholder) extensions.push(CM.placeholder(textarea.placeholder));
    // CodeMirror adds a <style> element: the Content-Security-Policy admits it with the page's nonce.
    const nonce = document.querySelector('meta[name="csp-nonce"]')?.content;
    if (nonce) extensions.push(CM.EditorView.cspNonce.of(nonce));

    const view = new CM.EditorView({
      state: CM.EditorState.create({ doc: textarea.value, extensions }),
    });
    view.dom.classList.add("attentive-editor");
    if (readOnly) view.dom.classList.add("attentive-editor-readonly");

    textarea.after(view.dom, hint);
    textarea.hidden = true;
    textarea.classList.add("editor-replaced"); // site.css: in case page CSS gives textareas a display that beats [hidden]
    textarea.setAttribute("data-editor-mounted", "");

    // Clicking the textarea's <label> would focus the hidden textarea; send it on.
    for (const label of textarea.labels || []) {
      label.addEventListener("click", (event) => {
        event.preventDefault();
        view.focus();
      });
    }
    // A hidden `required` textarea cannot show the browser's "please fill in"
    // bubble; at least move focus to where the code goes.
    textarea.addEventListener("invalid", () => view.focus());

    const api = {
      view,
      getValue: () => view.state.doc.toString(),
      // Replaces the whole text as one undoable change, so "restore this
      // attempt" can be undone with Ctrl-Z. Works on read-only editors too:
      // readOnly only blocks the user's own edits.
      setValue(text) {
        const value = String(text ?? "");
        if (value === api.getValue()) return;
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
      },
      onChange(callback) {
        listeners.add(callback);
        return () => listeners.delete(callback);
      },
      focus: () => view.focus(),
    };

    if (textarea.form) {
      // A form reset puts the textarea back to its served value; follow it.
      textarea.form.addEventListener("reset", () => setTimeout(() => api.setValue(textarea.value)));
    }

    const draftUrl = textarea.getAttribute("data-editor-draft-url");
    if (draftUrl && !readOnly) {
      const drafts = draftSaver(textarea, draftUrl, api.getValue);
      api.onChange(() => drafts.changed());
      if (textarea.form) textarea.form.addEventListener("submit", () => drafts.cancel());
      window.addEventListener("pagehide", () => drafts.flush());
    }

    editors.set(textarea, api);
    return api;
  }

  function mount(root = document) {
    if (!window.AttentiveCodeMirror) {
      console.warn("AttentiveEditor: static/vendor/codemirror.js is not loaded; keeping plain textareas");
      return;
    }
    const found = root.matches && root.matches('textarea[data-editor="python"]') ? [root] : [];
    found.push(...root.querySelectorAll('textarea[data-editor="python"]'));
    for (const textarea of found) {
      if (editors.has(textarea)) continue;
      try {
        create(textarea);
      } catch (err) {
        // Leave the plain textarea usable rather than a half-built editor.
        textarea.hidden = false;
        textarea.classList.remove("editor-replaced");
        console.error("AttentiveEditor: could not create an editor", err);
      }
    }
  }

  window.AttentiveEditor = {
    get: (textarea) => editors.get(textarea) || null,
    mount,
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => mount());
  } else {
    mount();
  }
  // htmx fires htmx:load on every piece of content it swaps in.
  document.addEventListener("htmx:load", (event) => mount(event.detail.elt));
})();
