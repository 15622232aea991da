/* The compose page, enhanced: recipients filtered as you type (by code or name), the
   deadline shown only for ด่วนภายใน, and files dropped onto the attachment zone, each listed
   with its size before upload. Without this file the form works the same. */
(function () {
  "use strict";

  const THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙";

  /* Thai-aware folding for matching: no zero-width characters, ํ+า as ำ, เเ as แ, Thai
     digits as Arabic, no spaces, lower case. Never NFKC: it splits ำ. */
  function fold(text) {
    return (text || "")
      .replace(/[\u200b-\u200d\u2060\ufeff]/g, "")
      .replace(/\u0e4d\u0e32/g, "\u0e33")
      .replace(/\u0e40\u0e40/g, "\u0e41")
      .replace(/[๐-๙]/g, (d) => String(THAI_DIGITS.indexOf(d)))
      .replace(/\s+/g, "")
      .toLowerCase();
  }

  function filterRecipients() {
    const input = document.getElementById("recipient-filter");
    const list = document.getElementById("recipient-list");
    if (!input || !list) return;
    const items = Array.from(list.querySelectorAll("li"));
    const count = document.getElementById("recipient-count");
    input.closest(".recipient-filter").hidden = false;
    const apply = () => {
      const query = fold(input.value);
      let shown = 0;
      for (const item of items) {
        const ticked = item.querySelector("input").checked;
        const match = !query || fold(item.dataset.search).includes(query);
        item.hidden = !(match || ticked);
        if (!item.hidden) shown += 1;
      }
      count.textContent = query ? `แสดง ${shown} จาก ${items.length} หน่วยงาน` : "";
    };
    input.addEventListener("input", apply);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") e.preventDefault();
    });
  }

  function deadlineOnlyWhenNeeded() {
    const speed = document.getElementById("speed");
    const field = document.getElementById("deadline-field");
    if (!speed || !field) return;
    const apply = () => {
      field.hidden = speed.value !== speed.dataset.deadlineSpeed;
    };
    speed.addEventListener("change", apply);
    apply();
  }

  function humanSize(size) {
    if (size < 1024) return `${size.toLocaleString("en-US")} ไบต์`;
    if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
    return `${(size / (1024 * 1024)).toFixed(1)} MB`;
  }

  function dropFiles() {
    const zone = document.getElementById("dropzone");
    const input = document.getElementById("attachments");
    const list = document.getElementById("chosen-files");
    if (!zone || !input || !list) return;
    const max = Number(zone.dataset.maxBytes) || 0;
    zone.querySelector(".drop-hint").hidden = false;
    const show = () => {
      list.replaceChildren();
      for (const file of input.files) {
        const item = document.createElement("li");
        const name = document.createElement("span");
        const size = document.createElement("span");
        name.textContent = file.name;
        size.className = "file-size";
        size.textContent = humanSize(file.size);
        if (max && file.size > max) {
          size.classList.add("too-big");
          size.textContent += " เกินขนาดที่รับได้";
        }
        item.append(name, size);
        list.append(item);
      }
    };
    input.addEventListener("change", show);
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (e) => {
        e.preventDefault();
        zone.classList.add("over");
      });
    }
    zone.addEventListener("dragleave", (e) => {
      if (!zone.contains(e.relatedTarget)) zone.classList.remove("over");
    });
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const dropped = e.dataTransfer ? Array.from(e.dataTransfer.files) : [];
      if (!dropped.length) return;
      const all = new DataTransfer();
      for (const file of [...input.files, ...dropped]) all.items.add(file);
      input.files = all.files;
      show();
    });
  }

  filterRecipients();
  deadlineOnlyWhenNeeded();
  dropFiles();
})();
