// almacen dashboard behaviour shared by every page. Pages work without it; it only makes
// searching live. No inline scripts anywhere: the Content-Security-Policy forbids them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Search as you type: a form with data-live-search="#target" refreshes the target with the
  // page's results fragment (?partial=1), keeping the URL in step for back/forward.
  for (const form of document.querySelectorAll("form[data-live-search]")) {
    const target = document.querySelector(form.dataset.liveSearch);
    if (!target) continue;
    let timer = null;
    let seq = 0;
    const refresh = async () => {
      const params = new URLSearchParams(new FormData(form));
      const mine = ++seq;
      const url = form.action + "?" + params.toString();
      try {
        const res = await fetch(url + "&partial=1", { headers: { "Accept": "text/html" } });
        if (!res.ok || mine !== seq) return;
        target.innerHTML = await res.text();
        history.replaceState(null, "", url);
      } catch (_) {
        // Offline or server down: the submit button still works.
      }
    };
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      clearTimeout(timer);
      refresh();
    });
  }
});
