// Inicio's live updates: listens to /eventos and reloads the panel when figures or alerts change.
(function () {
  "use strict";
  var root = document.getElementById("tablero");
  if (!root || !window.EventSource) { return; }
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(root.getAttribute("data-panel"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { root.innerHTML = html; } })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var es = new EventSource(root.getAttribute("data-live"));
  es.addEventListener("cifras", refresh);
  es.addEventListener("alertas", refresh);
})();
