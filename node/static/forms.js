/* Every page with forms: when the browser comes Back to a page and fetches it again, each
   form gets back the idempotency key it was issued the first time (kept in this history
   entry's state, by the form's action), so sending it again is answered with what the
   first sending did instead of being done twice. A page restored whole from the
   back/forward cache keeps its keys by itself. Without this file a page fetched again
   carries fresh keys. */
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
