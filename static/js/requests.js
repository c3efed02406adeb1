// When an htmx request fails (the server answers 5xx, or cannot be reached), say so on the page:
// htmx swaps nothing for an error, so a student who pressed Submit would otherwise see nothing.
(function () {
  "use strict";

  function notice(text) {
    var box = document.getElementById("request-problem");
    if (!box) {
      box = document.createElement("p");
      box.id = "request-problem";
      box.className = "message message-error request-problem";
      box.setAttribute("role", "alert");
      var main = document.querySelector("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
    box.hidden = false;
  }

  function clear() {
    var box = document.getElementById("request-problem");
    if (box) {
      box.hidden = true;
    }
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 503) {
      notice("Attentive is briefly unavailable. Your work is safe: what was saved stays saved. Try again in a few seconds.");
    } else if (status >= 500) {
      notice("Something went wrong on the server (error " + status + "). Try again; if it goes on, tell your instructor.");
    } else if (status === 403) {
      notice("This was refused (error 403): reload the page, and sign in again if asked.");
    } else if (status === 413) {
      notice("This is too large to send (error 413).");
    } else if (status === 429) {
      notice("Too many attempts in a short time (error 429): wait a little and try again.");
    } else {
      notice("The request failed (error " + status + "). Reload the page and try again.");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    notice("The server could not be reached: check your connection, then try again. Nothing was lost.");
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) {
      clear();
    }
  });
})();
