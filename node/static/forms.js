/* Every page with forms.

   Idempotency keys: when the browser comes Back to a page and fetches it again, each form
   gets back the idempotency key it was issued the first time (kept in this history entry's
   state, by the form's action), so sending it again is answered with what the first
   sending did instead of being done twice. A page restored whole from the back/forward
   cache keeps its keys by itself. Without this file a page fetched again carries fresh keys.

   Limits: a field with data-limit shows how many characters are typed and says when that
   is over the limit (the server refuses it; nothing is cut).

   Dates: a field with data-date-read says back, as the clerk types, the date the node reads
   (GET /dates/read): "ระบบอ่านว่า 1 ธันวาคม 2569" or why it cannot be read. The server says
   the same when it renders the form, so without this file only the live update is lost. */
(function () {
  "use strict";

  const fields = Array.from(document.querySelectorAll('input[type="hidden"][name="idempotency_key"]'));
  if (!fields.length) return;
  const seen = {};
  const names = fields.map((field) => {
    const action = field.form ? field.form.action : "";
    seen[action] = (seen[action] || 0) + 1;
    return action + "#" + seen[action];
  });
  const state = history.state && typeof history.state === "object" ? history.state : {};
  const kept = state.idempotencyKeys && typeof state.idempotencyKeys === "object" ? state.idempotencyKeys : {};
  const keys = {};
  fields.forEach((field, i) => {
    if (typeof kept[names[i]] === "string") field.value = kept[names[i]];
    keys[names[i]] = field.value;
  });
  history.replaceState(Object.assign({}, state, { idempotencyKeys: keys }), "");
})();

(function () {
  "use strict";

  document.querySelectorAll("[data-limit]").forEach((field) => {
    const limit = parseInt(field.dataset.limit, 10);
    const counter = document.querySelector('[data-counter-for="' + field.id + '"]');
    if (!counter || !limit) return;
    const show = () => {
      const typed = Array.from(field.value.trim()).length;
      const over = typed > limit;
      counter.textContent = !typed ? "" : over
        ? "พิมพ์แล้ว " + typed.toLocaleString("th-TH") + " ตัวอักษร ยาวเกิน " + (typed - limit).toLocaleString("th-TH") + " ตัวอักษร"
        : "(พิมพ์แล้ว " + typed.toLocaleString("th-TH") + ")";
      counter.classList.toggle("over", over);
    };
    field.addEventListener("input", show);
    show();
  });

  document.querySelectorAll("input[data-date-read]").forEach((field) => {
    const said = document.getElementById(field.id + "-understood");
    if (!said) return;
    let asked = 0;
    let timer = null;
    const ask = () => {
      const text = field.value.trim();
      const mine = ++asked;
      if (!text) {
        said.textContent = "";
        said.classList.remove("bad");
        return;
      }
      fetch(field.dataset.dateRead + "?text=" + encodeURIComponent(text), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then((r) => (r.ok ? r.json() : null))
        .then((answer) => {
          if (!answer || mine !== asked) return;
          said.textContent = answer.text;
          said.classList.toggle("bad", !answer.ok);
        })
        .catch(() => {});
    };
    field.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
  });
})();
