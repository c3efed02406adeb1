// Entry point for static/vendor/codemirror.js.
//
// esbuild bundles this into one IIFE that sets `window.AttentiveCodeMirror`.
// We pick an IIFE (not an ES module) on purpose: Django's
// ManifestStaticFilesStorage renames files with content hashes but does not
// rewrite `import` specifiers, so a classic <script> with a global is the form
// that survives collectstatic unchanged. Only re-export what static/js/editor.js
// composes; anything not listed here is tree-shaken away, which keeps the
// bundle small.
export { EditorState, Compartment } from "@codemirror/state";
export {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  drawSelection,
  dropCursor,
  rectangularSelection,
  crosshairCursor,
  placeholder,
} from "@codemirror/view";
export { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
export {
  indentUnit,
  indentOnInput,
  bracketMatching,
  syntaxHighlighting,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
} from "@codemirror/language";
export { python } from "@codemirror/lang-python";
export { search, searchKeymap, highlightSelectionMatches } from "@codemirror/search";
export {
  autocompletion,
  completionKeymap,
  closeBrackets,
  closeBracketsKeymap,
} from "@codemirror/autocomplete";
