/* The sync badge of every page (node/web/sync.py). While a round runs, or after
   ส่ง/รับเดี๋ยวนี้ asked the live sync for one, it asks /sync/progress every second and
   shows the link, the age of the last exchange, รอส่ง and, when the round asked for has
   finished, its result; then it stops, so an idle page does not keep its session alive.
   Without this file the badge shows what the page showed when it was loaded, and the
   button still works (its answer comes back as the page's message). */
(function () {
  "use strict";

  const badge = document.querySelector(".sync[data-progress]");
  if (!badge) return;
  const form = document.querySelector("form.sync-now");
  const button = form ? form.querySelector("button") : null;
  const STATES = ["up", "down", "busy"];
  const POLL_MS = 1000;
  const FOLLOW_MS = 120000;

  if (form && button) {
    form.addEventListener("submit", () => {
      button.setAttribute("aria-disabled", "true");
      button.textContent = "กำลังส่ง-รับ…";
    });
  }

  function show(figures) {
    badge.querySelectorAll("[data-sync]").forEach((el) => {
      const name = el.getAttribute("data-sync");
      const value = figures[name];
      // An empty result means "nothing new": the one already shown stays.
      if (value === undefined || value === null || (name === "result_th" && value === "")) return;
      el.textContent = String(value);
    });
    STATES.forEach((s) => badge.classList.toggle(s, s === figures.state));
  }

  function follow() {
    const until = Date.now() + FOLLOW_MS;
    function ask() {
      fetch(badge.getAttribute("data-progress"), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      })
        .then((resp) => {
          const type = resp.headers.get("Content-Type") || "";
          return resp.ok && type.indexOf("application/json") === 0 ? resp.json() : null;
        })
        .then((figures) => {
          if (!figures) return;
          show(figures);
          if ((figures.waiting || figures.busy) && Date.now() < until) {
            window.setTimeout(ask, POLL_MS);
          }
        })
        .catch(() => {});
    }
    window.setTimeout(ask, POLL_MS / 2);
  }

  if (badge.hasAttribute("data-waiting") || badge.classList.contains("busy")) follow();
})();
