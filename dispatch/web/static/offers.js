/* Offers on a case with their deadlines counting down, and the coordinator's hand moves. Shared by the
   dispatch view and the case page. */
"use strict";

const COORDINATES = ["coordinator", "admin"].includes(BOOT.user.role);

function countdown(deadline) {
  const left = Math.round((Date.parse(deadline) - serverNow()) / 1000);
  if (left <= 0) return { text: t("dispatch.overdue"), late: true };
  const m = Math.floor(left / 60);
  const s = String(left % 60).padStart(2, "0");
  return { text: `${t("dispatch.remaining")} ${m}:${s}`, late: false };
}

function offersTable(offers) {
  if (!offers.length) return el("p", { class: "muted" }, "—");
  return el("table", { class: "offers" },
    el("thead", {}, el("tr", {},
      el("th", {}, "#"), el("th", {}, t("common.physician")), el("th", {}, t("common.state")),
      el("th", {}, t("dispatch.deadline")), el("th", {}, ""))),
    el("tbody", {}, offers.map((o) => {
      const clock = o.state === "pending" ? countdown(o.deadline_at) : null;
      return el("tr", { class: `offer o-${o.state}`, dataset: { offerId: o.id } },
        el("td", {}, `${o.attempt}${t("dispatch.attempt")}${o.manual ? " ✋" : ""}`),
        el("td", {}, nameOf("physicians", o.physician_id),
          o.estimated_travel_min !== null ? el("span", { class: "muted" }, ` (${fmtMinutes(o.estimated_travel_min)})`) : null),
        el("td", {}, label("offer_state", o.state)),
        el("td", {}, fmtTime(o.deadline_at)),
        el("td", {}, clock ? el("span", { class: `countdown ${clock.late ? "late" : ""}`, dataset: { deadline: o.deadline_at } }, clock.text)
          : fmtTime(o.responded_at)));
    })));
}

function tickCountdowns() {
  for (const node of document.querySelectorAll(".countdown[data-deadline]")) {
    const clock = countdown(node.dataset.deadline);
    node.textContent = clock.text;
    node.classList.toggle("late", clock.late);
  }
}

/** Who could take the case now (GET /cases/{id}/candidates): on shift for its town first, then the others;
 * and why automatic offering stopped. null when the reader may not see it. */
async function loadCandidates(caseId) {
  const result = await api("GET", `/api/v1/cases/${caseId}/candidates`);
  return result.ok ? result.data : null;
}

function fill(key, values) {
  return t(key).replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
}

/** Why automatic offering stopped, in words, or nothing while it goes on. */
function stopNote(picked) {
  const stopped = picked && picked.offering_stopped;
  if (!stopped) return null;
  return el("p", { class: "stop-reason", role: "status", dataset: { reason: stopped.reason_code } },
    el("strong", {}, `${t("stop.title")}: `),
    fill(`stop.${stopped.reason_code}`, { town: stopped.municipality || nameOf("municipalities", null), count: stopped.count }));
}

/** Where a physician stands for the case, with their shift: off shift and other areas marked. */
function standing(p) {
  const marks = [!p.on_shift ? t("picker.off_shift") : p.area ? `${p.area}・${t("picker.neighbour_area")}`
    : !p.covers_town ? t("picker.other_area") : null,
    p.on_shift && p.shift_until ? `${fmtTime(p.shift_until)}${t("picker.until")}` : null].filter(Boolean);
  return marks.join(" · ");
}

/** The picker: each physician's status, estimated travel time to the patient, and phone (tap to call). */
function pickerTable(picked) {
  if (!picked) return null;
  if (!picked.physicians.length) return el("p", { class: "muted" }, t("picker.none"));
  return el("table", { class: "picker" },
    el("caption", {}, t("picker.title")),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("picker.physician")), el("th", { scope: "col" }, t("picker.status")),
      el("th", { scope: "col" }, t("picker.travel")), el("th", { scope: "col" }, t("picker.phone")))),
    el("tbody", {}, picked.physicians.map((p) => el("tr", {
      class: `candidate c-${p.status} ${p.covers_town ? "" : "elsewhere"}`, dataset: { physicianId: p.physician_id },
    },
    el("th", { scope: "row" }, p.name, standing(p) ? el("span", { class: "muted" }, ` (${standing(p)})`) : null),
    el("td", {}, label("candidate_status", p.status), p.other_case_reference ? ` ${p.other_case_reference}` : ""),
    el("td", {}, p.travel_min !== null ? fmtMinutes(p.travel_min) : "—"),
    el("td", {}, p.phone ? el("a", { href: `tel:${p.phone_e164}` }, p.phone) : "—")))));
}

/** The coordinator's controls for one case: offer to a chosen physician, or record one who agreed by phone.
 * `holder` is the physician the case was shown assigned to: if another coordinator assigned it meanwhile, 409.
 * `picked` (the candidates) orders the choice: on shift for the case's town first, nearest first. */
function handControls(caseId, onDone, holder = null, picked = null) {
  if (!COORDINATES) return null;
  const option = (p) => el("option", { value: p.physician_id },
    [p.name, p.travel_min !== null ? fmtMinutes(p.travel_min) : null, label("candidate_status", p.status),
      p.covers_town ? null : p.area ? `${p.area}・${t("picker.neighbour_area")}`
        : p.on_shift ? t("picker.other_area") : t("picker.off_shift")].filter(Boolean).join(" · "));
  const choice = el("select", { name: "physician_id", "aria-label": t("common.physician") },
    el("option", { value: "" }, "—"),
    (picked ? picked.physicians : []).map(option));
  const reason = el("input", { name: "reason", placeholder: t("field.reason"), maxlength: 500 });
  const form = el("form", { class: "hand", method: "post", novalidate: true, dataset: { caseId } },
    el("label", {}, t("common.physician"), choice),
    el("label", {}, t("field.reason"), reason),
    el("p", { class: "form-error", role: "alert", hidden: true }));
  async function move(path, body) {
    if (!choice.value) return toast(t("dispatch.pick_physician"), "error");
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const result = await api("POST", `/api/v1/cases/${caseId}/${path}`, body);
      if (!result.ok) {
        showFieldErrors(form, result);
        if (result.status === 409) onDone();
        return;
      }
      clearFieldErrors(form);
      form.reset();
      toast(`${result.data.reference}: ${label("state", result.data.state)}`, "ok");
      onDone();
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }
  form.append(
    el("button", { type: "button", class: "offer-by-hand",
      onclick: () => move("offers", { physician_id: Number(choice.value), replaces_physician_id: holder }) },
    t("dispatch.offer_by_hand")),
    el("button", { type: "button", class: "assign-by-hand",
      onclick: () => move("assign", { physician_id: Number(choice.value), reason: reason.value || null, replaces_physician_id: holder }) },
    t("dispatch.assign_by_hand")));
  if (holder !== null) form.append(revokeLinkButton(caseId));
  return form;
}

/** End every details link sent for the case (a forwarded link, a lost phone); the physician texts 「リンク」 for
 * a fresh one. */
function revokeLinkButton(caseId) {
  return el("button", { type: "button", class: "revoke-link", onclick: async () => {
    if (!confirm(t("dispatch.revoke_link_confirm"))) return;
    const result = await api("POST", `/api/v1/cases/${caseId}/visit-link/revoke`);
    toast(result.ok ? t("dispatch.link_revoked") : problemText(result), result.ok ? "ok" : "error");
  } }, t("dispatch.revoke_link"));
}

setInterval(tickCountdowns, 1000);
