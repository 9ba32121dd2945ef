// Caja (POS): selling with a barcode scanner that types like a keyboard.
// The ticket in progress lives in sessionStorage (a reload never loses it); the server prices
// it (/caja/cotizar) and renders every fragment, so this script never builds HTML from text.
// Confirming posts to the JSON API with an Idempotency-Key kept until the sale is answered:
// a retry after a network error can never sell twice.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const pos = document.getElementById("pos");
  if (!pos) return;
  const shift = Number(pos.dataset.shift);
  const csrf = pos.dataset.csrf;
  // Every message comes from the page, already in the viewer's language.
  const M = JSON.parse(pos.dataset.messages || "{}");
  const STORE = "almacen.pos." + shift;
  const $ = (id) => document.getElementById(id);
  const scan = $("scan"), message = $("pos-message"), linesBox = $("ticket-lines");
  const payment = $("payment"), method = $("pay-method"), amount = $("pay-amount");
  const done = $("done");
  const mainBox = pos.querySelector(".pos-main");

  const newKey = () => "caja-" + shift + "-" +
    (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  const fresh = () => ({ lines: [], payments: [], key: newKey(), selected: -1, total: 0 });
  let state;
  try { state = JSON.parse(sessionStorage.getItem(STORE)) || fresh(); } catch (_) { state = fresh(); }
  const save = () => sessionStorage.setItem(STORE, JSON.stringify(state));

  // ---- numbers: cents and thousandths as integers, shown the Argentine way
  const money = (c) => {
    const neg = c < 0; c = Math.abs(c);
    const whole = Math.floor(c / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ".");
    return (neg ? "-" : "") + "$ " + whole + "," + String(c % 100).padStart(2, "0");
  };
  const centsOf = (decimal) => Math.round(parseFloat(decimal) * 100);
  const decimalOf = (cents) => (cents / 100).toFixed(2);
  const parseAmount = (raw) => {
    let s = raw.replace(/\$/g, "").replace(/\s/g, "");
    if (s.includes(",")) s = s.replace(/\./g, "").replace(",", ".");
    else if (/^\d{1,3}(\.\d{3})+$/.test(s)) s = s.replace(/\./g, "");
    return /^\d+(\.\d{1,2})?$/.test(s) ? Math.round(parseFloat(s) * 100) : null;
  };
  const milli = (q) => Math.round(parseFloat(q || "1") * 1000);
  const qtyText = (m) => String(m / 1000);

  const say = (text, kind) => {
    message.textContent = text || "";
    message.className = "pos-message" + (kind ? " " + kind : "");
  };

  // A code that looks like a GTIN is a barcode (products, packs, scale labels); else a SKU.
  const apiLine = (l) => {
    const line = /^(\d{8}|\d{12,14})$/.test(l.code) ? { barcode: l.code } : { sku: l.code };
    if (l.qty) line.quantity = l.qty;
    return line;
  };

  const highlight = () => {
    for (const row of linesBox.querySelectorAll("tr[data-line]")) {
      row.classList.toggle("selected", Number(row.dataset.line) === state.selected);
    }
  };

  // Prices the ticket on the server; false (and a message) when a line is refused.
  const quote = async () => {
    let res;
    try {
      res = await fetch("/caja/cotizar", {
        method: "POST",
        headers: { "Content-Type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify({ lines: state.lines.map(apiLine) }),
      });
    } catch (_) {
      say(M.offline_add, "error");
      return false;
    }
    let body = {};
    try { body = await res.json(); } catch (_) { /* an error page, not JSON */ }
    if (!res.ok || body.error) {
      say((body.error && body.error.message) || body.message || ("Error " + res.status), "error");
      return false;
    }
    linesBox.innerHTML = body.html;
    state.total = centsOf(body.total);
    (body.lines || []).forEach((l, i) => { if (state.lines[i]) state.lines[i].scale = l.scale; });
    if (state.selected >= state.lines.length) state.selected = state.lines.length - 1;
    highlight();
    save();
    return true;
  };

  let queue = Promise.resolve();
  const enqueue = (job) => { queue = queue.then(job, job); return queue; };

  const addCode = async (raw) => {
    const m = raw.match(/^(\d+(?:[.,]\d+)?)\s*\*\s*(.+)$/);
    const code = (m ? m[2] : raw).trim();
    const qty = m ? m[1].replace(",", ".") : null;
    if (!code) return;
    const before = JSON.stringify(state);
    const same = state.lines.findIndex((l) => l.code === code && !l.scale);
    if (same >= 0) {
      state.lines[same].qty = qtyText(milli(state.lines[same].qty) + milli(qty));
      state.selected = same;
    } else {
      state.lines.push({ code, qty, scale: false });
      state.selected = state.lines.length - 1;
    }
    state.payments = [];
    if (await quote()) {
      say("");
    } else {
      const why = message.textContent;
      state = JSON.parse(before);
      save();
      say(M.code + " " + code + ": " + why, "error");
    }
  };

  const removeSelected = async () => {
    if (state.selected < 0 || state.selected >= state.lines.length) return;
    state.lines.splice(state.selected, 1);
    state.selected = state.lines.length - 1;
    state.payments = [];
    if (await quote()) say(M.removed);
  };

  // ---- payment
  const paid = () => state.payments.reduce((s, p) => s + p.cents, 0);
  const cashPaid = () => state.payments.filter((p) => p.method === "cash").reduce((s, p) => s + p.cents, 0);
  const labelOf = (code) => {
    const o = Array.from(method.options).find((x) => x.value === code);
    return o ? o.textContent : code;
  };
  const showPayments = () => {
    const body = $("pay-list").tBodies[0];
    body.replaceChildren();
    for (const p of state.payments) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = labelOf(p.method);
      const td = document.createElement("td");
      td.className = "num";
      td.textContent = money(p.cents);
      tr.append(th, td);
      body.append(tr);
    }
    const due = state.total - paid();
    $("pay-total").textContent = money(state.total);
    $("pay-paid").textContent = money(paid());
    $("pay-due").textContent = money(Math.max(due, 0));
    $("pay-change").textContent = money(Math.max(-due, 0));
    amount.value = due > 0 ? decimalOf(due).replace(".", ",") : "";
  };
  const paying = () => !payment.hidden;
  const openPayment = () => {
    if (!state.lines.length) { say(M.empty, "error"); return; }
    payment.hidden = false;
    showPayments();
    amount.focus();
    amount.select();
  };
  const closePayment = () => {
    payment.hidden = true;
    state.payments = [];
    save();
    say("");
    scan.focus();
  };
  const addPayment = () => {
    const cents = parseAmount(amount.value);
    if (cents === null || cents <= 0) { say(M.bad_amount, "error"); return; }
    const due = state.total - paid();
    if (method.value !== "cash" && cents > due) {
      say(M.overpay, "error");
      return;
    }
    state.payments.push({ method: method.value, cents });
    save();
    say("");
    showPayments();
    amount.focus();
  };

  let busy = false;
  const confirmSale = async () => {
    if (busy) return;
    if (paid() < state.total) { say(M.missing + " " + money(state.total - paid()) + ".", "error"); return; }
    if (cashPaid() < paid() - state.total) { say(M.cash_change, "error"); return; }
    busy = true;
    say(M.confirming);
    const body = {
      shift,
      lines: state.lines.map(apiLine),
      payments: state.payments.map((p) => ({ method: p.method, amount: decimalOf(p.cents) })),
    };
    let res;
    try {
      res = await fetch("/api/v1/sales", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": state.key },
        body: JSON.stringify(body),
      });
    } catch (_) {
      busy = false;
      // Kept: the same key makes the retry safe even if the sale did go through.
      say(M.offline_sale, "error");
      return;
    }
    let answer = {};
    try { answer = await res.json(); } catch (_) { /* not JSON */ }
    busy = false;
    if (!res.ok) {
      // Nothing was written (validation or stock): the corrected ticket gets a new key.
      if (res.status === 409 || (res.status === 422 && !String(answer.type || "").includes("idempotency"))) {
        state.key = newKey();
        save();
      }
      say((answer.detail || answer.title || ("Error " + res.status)), "error");
      return;
    }
    await showTicket(answer.id);
  };

  const showTicket = async (id) => {
    state = fresh();
    save();
    sessionStorage.setItem(STORE + ".last", String(id));
    payment.hidden = true;
    mainBox.hidden = true;
    say(M.sale + " " + id + " " + M.registered, "ok");
    try {
      const res = await fetch("/caja/ticket/" + id, { headers: { "Accept": "text/html" } });
      if (res.ok) $("done-ticket").innerHTML = await res.text();
    } catch (_) { /* the sale is done; the ticket can be printed later */ }
    done.hidden = false;
    $("done-new").focus();
  };

  const newSale = async () => {
    done.hidden = true;
    mainBox.hidden = false;
    say("");
    await enqueue(quote);
    scan.focus();
  };

  // ---- keys
  scan.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      const raw = scan.value;
      scan.value = "";
      if (raw.trim() === "") { enqueue(async () => openPayment()); return; }
      enqueue(() => addCode(raw));
    } else if (e.key === "ArrowUp" || e.key === "ArrowDown") {
      e.preventDefault();
      if (!state.lines.length) return;
      const step = e.key === "ArrowUp" ? -1 : 1;
      state.selected = Math.min(Math.max(state.selected + step, 0), state.lines.length - 1);
      highlight();
      save();
    } else if (e.key === "Delete" && scan.value === "") {
      e.preventDefault();
      enqueue(removeSelected);
    } else if (e.key === "Escape") {
      e.preventDefault();
      scan.value = "";
      say("");
    }
  });
  amount.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      if (amount.value.trim() === "" && paid() >= state.total) confirmSale();
      else addPayment();
    } else if (e.key === "Delete" && amount.value === "") {
      e.preventDefault();
      state.payments.pop();
      save();
      showPayments();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "F2") {
      e.preventDefault();
      if (!done.hidden) return;
      if (!paying()) enqueue(async () => openPayment());
      else if (paid() >= state.total) confirmSale();
      else addPayment();
    } else if (e.key === "F9") {
      e.preventDefault();
      if (!done.hidden) window.print();
    } else if (e.key === "Escape" && paying()) {
      e.preventDefault();
      closePayment();
    } else if (e.key === "Enter" && !done.hidden && e.target === $("done-new")) {
      e.preventDefault();
      newSale();
    }
  });
  $("pay-confirm").addEventListener("click", confirmSale);
  $("pay-back").addEventListener("click", closePayment);
  $("done-print").addEventListener("click", () => window.print());
  $("done-new").addEventListener("click", newSale);
  // The scanner types into whatever has the focus: keep it on the code input while scanning.
  document.addEventListener("click", (e) => {
    if (paying() || !done.hidden) return;
    if (!e.target.closest("a, button, input, select, label, summary")) scan.focus();
  });

  // A reload keeps the ticket in progress.
  if (state.lines.length) {
    enqueue(async () => {
      if (await quote() && state.payments.length) openPayment();
    });
  }
  scan.focus();
});
