// Back-office forms: "Agregar línea" copies the last row of a table marked data-grow with its
// inputs empty and renumbered (name_N). The forms work without it: they start with empty rows.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-add-row]")) {
    const form = button.closest("form");
    const body = form && form.querySelector("table[data-grow] tbody");
    if (!body) continue;
    button.addEventListener("click", () => {
      const last = body.querySelector("tr:last-child");
      if (!last) return;
      const row = last.cloneNode(true);
      const n = body.querySelectorAll("tr").length;
      for (const p of row.querySelectorAll(".field-error")) p.remove();
      for (const input of row.querySelectorAll("input")) {
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.name = input.name.replace(/_\d+$/, "_" + n);
      }
      body.appendChild(row);
      const first = row.querySelector("input");
      if (first) first.focus();
    });
  }
});
