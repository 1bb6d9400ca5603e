// Live parts of the admin pages without a framework: an element with data-poll="<url>" is replaced by the
// HTML fragment that URL returns, every data-interval milliseconds (default 2000). A fragment whose
// data-state goes from "running" to anything else (and that says data-reload-when-done) reloads the page, so the
// tables below show the finished run.
// Without JavaScript the pages still work: every live part has a plain link that reloads it.
(function () {
  "use strict";

  function schedule(element) {
    var interval = parseInt(element.getAttribute("data-interval") || "2000", 10);
    window.setTimeout(function () { refresh(element); }, interval);
  }

  function refresh(element) {
    var url = element.getAttribute("data-poll");
    var before = element.getAttribute("data-state");
    fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        if (!fresh) { schedule(element); return; }
        var after = fresh.getAttribute("data-state");
        if (before === "running" && after !== "running" && fresh.hasAttribute("data-reload-when-done")) {
          // Reload without the query (a "sync started" notice is stale once the run is done).
          window.location.assign(window.location.pathname);
          return;
        }
        // Keep keyboard focus where it was when the focused element is inside the live part.
        var focusedId = document.activeElement && element.contains(document.activeElement)
          ? document.activeElement.id : null;
        element.replaceWith(fresh);
        if (focusedId && document.getElementById(focusedId)) { document.getElementById(focusedId).focus(); }
        if (fresh.hasAttribute("data-poll")) { schedule(fresh); }
      })
      .catch(function () { schedule(element); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(schedule);
  });
})();
