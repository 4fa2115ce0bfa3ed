/* Shift swaps: ask for one of my shifts, take a colleague's, and (coordinator) approve or reject. */
"use strict";

const COORDINATES = ["coordinator", "admin"].includes(BOOT.user.role);
const PHYSICIAN = BOOT.user.physicianId;

function when(shift) {
  return `${fmtTime(shift.starts_at)} – ${fmtTime(shift.ends_at)}`;
}

/** A give-away, or a trade for one of my shifts, can be taken here (an open trade needs the API). */
function takable(swap) {
  return PHYSICIAN && (swap.kind === "give_away" || (swap.offered_shift && swap.offered_shift.physician_id === PHYSICIAN));
}

function fill(id, rows) {
  document.querySelector(`#${id} tbody`).replaceChildren(...rows);
  document.getElementById(`${id}-empty`).hidden = rows.length > 0;
}

function button(text, onclick, kind = "") {
  return el("button", { type: "button", class: kind, onclick }, text);
}

async function step(method, path, body, done) {
  const result = await api(method, path, body);
  if (!result.ok) return toast(problemText(result), "error");
  toast(t(done), "ok");
  await load();
}

function ask(shift) {
  if (!confirm(t("swaps.ask_confirm").replace("{when}", when(shift)))) return;
  step("POST", "/api/v1/swaps", { shift_id: shift.id, kind: "give_away" }, "swaps.asked");
}

function take(swap) {
  const text = t("swaps.take_confirm").replace("{name}", swap.asker_name).replace("{when}", when(swap.shift));
  if (confirm(text)) step("POST", `/api/v1/swaps/${swap.id}/take`, {}, "swaps.taken");
}

function decide(swap, verb) {
  const text = verb === "approve"
    ? t("swaps.approve_confirm").replace("{when}", when(swap.shift)).replace("{from}", swap.asker_name).replace("{to}", swap.taker_name)
    : t("swaps.reject_confirm");
  if (confirm(text)) step("POST", `/api/v1/swaps/${swap.id}/${verb}`, {}, verb === "approve" ? "swaps.approved" : "swaps.rejected");
}

function cancel(swap) {
  if (confirm(t("swaps.cancel_confirm"))) step("POST", `/api/v1/swaps/${swap.id}/cancel`, {}, "swaps.cancelled");
}

async function load() {
  const [swaps, shifts] = await Promise.all([api("GET", "/api/v1/swaps"), api("GET", "/api/v1/swaps/shifts")]);
  if (!swaps.ok) return toast(problemText(swaps), "error");
  const pending = new Set(swaps.data.filter((s) => ["open", "taken"].includes(s.state)).map((s) => s.shift.id));
  if (PHYSICIAN && shifts.ok) {
    document.getElementById("shifts-panel").hidden = false;
    fill("my-shifts", shifts.data.map((shift) => el("tr", { dataset: { shiftId: shift.id } },
      el("td", {}, when(shift)), el("td", {}, shift.coverage.join("・")),
      el("td", {}, pending.has(shift.id) ? "" : button(t("swaps.ask"), () => ask(shift))))));
  }
  const open = swaps.data.filter((s) => s.state === "open" && s.asker_id !== PHYSICIAN);
  fill("open-swaps", open.map((swap) => el("tr", { dataset: { swapId: swap.id } },
    el("td", {}, when(swap.shift)), el("td", {}, swap.shift.coverage.join("・")),
    el("td", {}, label("swap_kind", swap.kind)), el("td", {}, swap.asker_name),
    el("td", {}, takable(swap) ? button(t("swaps.take"), () => take(swap), "primary") : ""))));
  const mine = swaps.data.filter((s) => s.asker_id === PHYSICIAN);
  fill("my-swaps", mine.map((swap) => el("tr", { dataset: { swapId: swap.id } },
    el("td", {}, when(swap.shift)), el("td", {}, label("swap_kind", swap.kind)),
    el("td", {}, label("swap_state", swap.state)), el("td", {}, swap.taker_name || "—"),
    el("td", {}, ["open", "taken"].includes(swap.state) ? button(t("swaps.cancel"), () => cancel(swap)) : ""))));
  if (COORDINATES) {
    document.getElementById("awaiting-panel").hidden = false;
    const awaiting = swaps.data.filter((s) => s.state === "taken");
    fill("awaiting", awaiting.map((swap) => el("tr", { dataset: { swapId: swap.id } },
      el("td", {}, when(swap.shift)), el("td", {}, label("swap_kind", swap.kind)),
      el("td", {}, swap.asker_name), el("td", {}, swap.taker_name),
      el("td", {}, el("div", { class: "actions" },
        button(t("swaps.approve"), () => decide(swap, "approve"), "primary"),
        button(t("swaps.reject"), () => decide(swap, "reject"), "danger"))))));
  }
}

document.addEventListener("DOMContentLoaded", load);
