/* One case: what was said, the decision, offers, progress, the outcome form, and the timeline, live. */
"use strict";

const CASE_ID = BOOT.caseId;
const RECORDS = ["operator", "coordinator", "admin"].includes(BOOT.user.role);
const OUTCOME_STATES = ["on_scene", "visit_completed", "handed_off"];
const PROGRESS_STATES = ["accepted", "en_route", "on_scene"];
const CANCELLABLE = ["received", "triage_pending", "triaging", "dispatching", "offered", "unfilled", "accepted", "en_route"];
// Linking an unidentified case: the roles that may link it and also search for patients.
const LINKS = ["operator", "coordinator"].includes(BOOT.user.role);
let profileShown = false;
let recorded = null; // the outcome as recorded: a correction changes only what the form shows

const TOKYO_INPUT = new Intl.DateTimeFormat("sv-SE", {
  timeZone: BOOT.timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
});

/** A recorded time as a datetime-local value, in Tokyo. */
function inputTime(iso) {
  return iso ? TOKYO_INPUT.format(new Date(iso)).replace(" ", "T") : "";
}

function yesNo(value) {
  return value === "true" ? true : value === "false" ? false : null;
}

function facts(id, rows) {
  document.getElementById(id).replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "—")]));
}

/** A datetime-local value read as Asia/Tokyo (no summer time there, so +09:00 always holds). */
function tokyo(value) {
  return value ? `${value}:00+09:00` : null;
}

async function load() {
  const result = await api("GET", `/api/v1/cases/${CASE_ID}`);
  if (!result.ok) return toast(problemText(result), "error");
  const c = result.data;
  document.getElementById("case-title").replaceChildren(...[
    urgencyBadge(c.urgency || c.provisional_urgency), ` ${c.reference} `, stateBadge(c.state),
    c.in_service_hours ? null : el("span", { class: "flag" }, t("common.out_of_hours")),
    c.in_contract ? null : el("span", { class: "flag" }, t("common.out_of_contract")),
    c.intake.enrolment_ended ? el("span", { class: "flag alert" },
      endingText(c.intake.enrolment_ended.reason, c.intake.enrolment_ended.ended_on)) : null,
    c.coordinator_alerted_at ? el("span", { class: "flag alert" }, t("common.alerted")) : null,
  ].filter(Boolean));
  document.body.dataset.state = c.state;
  facts("call-body", [
    [t("common.called_at"), fmtTime(c.called_at)],
    [t("common.clinic"), nameOf("clinics", c.clinic_id)],
    [t("common.municipality"), nameOf("municipalities", c.municipality_id)],
    [t("field.caller_relation"), `${label("caller_relation", c.caller_relation)} ${c.caller_name || ""}`],
    [t("field.callback_phone"), fmtPhone(c.callback_phone_e164)],
    [t("field.chief_complaint"), c.chief_complaint],
    [t("field.consciousness"), label("consciousness", c.intake.consciousness)],
    [t("field.breathing"), label("breathing", c.intake.breathing)],
    [t("field.vitals"), fmtVitals(c.intake.vitals)],
  ]);
  facts("triage-body", [
    [t("field.disposition"), label("disposition", c.disposition)],
    [t("common.urgency"), c.urgency ? `${label("urgency", c.urgency)} / JTAS ${c.jtas_level}` : "—"],
    [t("field.note"), c.triage_note],
    [t("common.physician"), c.assigned_physician_id ? nameOf("physicians", c.assigned_physician_id) : "—"],
  ]);
  document.getElementById("timeline").replaceChildren(...c.timeline.slice().reverse().map((e) => el("li", { dataset: { kind: e.kind } },
    el("time", { datetime: e.at }, fmtTime(e.at)), " ",
    e.to_state ? el("span", {}, `${label("state", e.from_state)} → `, stateBadge(e.to_state)) : el("strong", {}, e.kind),
    el("span", { class: "muted" }, ` ${e.actor}`), e.reason ? el("span", {}, ` — ${e.reason}`) : null)));
  document.getElementById("link-panel").hidden = !LINKS || c.patient_id !== null;
  if (c.patient_id && !profileShown && BOOT.user.role !== "admin") {
    profileShown = true;
    await showProfile(c.patient_id, document.getElementById("profile"), document.getElementById("profile-body"));
  }
  const offers = await api("GET", `/api/v1/cases/${CASE_ID}/offers`);
  if (offers.ok) {
    document.getElementById("offers").replaceChildren(offersTable(offers.data));
    if (["unfilled", "dispatching", "offered", "accepted", "en_route"].includes(c.state) && COORDINATES) {
      await loadOnCall();
      document.getElementById("hand").replaceChildren(handControls(CASE_ID, load, c.assigned_physician_id));
    } else document.getElementById("hand").replaceChildren();
  } else document.getElementById("offers-panel").hidden = true;
  document.getElementById("progress-panel").hidden = !RECORDS || !PROGRESS_STATES.includes(c.state);
  document.getElementById("cancel-panel").hidden = !RECORDS || !CANCELLABLE.includes(c.state);
  await loadOutcome(c);
}

async function loadOutcome(c) {
  const panel = document.getElementById("outcome-panel");
  panel.hidden = !OUTCOME_STATES.includes(c.state) && c.state !== "closed";
  if (panel.hidden) return;
  const result = await api("GET", `/api/v1/cases/${CASE_ID}/outcome`);
  const o = result.ok ? result.data : null;
  recorded = o;
  facts("outcome-body", o ? [
    [t("case.outcome"), label("outcome", o.outcome)],
    [t("outcome.findings"), o.findings],
    [t("outcome.treatment"), o.treatment],
    ...(o.death ? [[t("death.confirmed_at"), fmtTime(o.death.confirmed_at)],
      [t("death.certificate_by"), label("certificate_by", o.death.certificate_by)]] : []),
  ] : []);
  const form = document.getElementById("outcome-form");
  form.hidden = !RECORDS || !OUTCOME_STATES.includes(c.state);
  if (o && !form.dataset.filled) {
    // A correction starts from what was recorded.
    form.dataset.filled = "1";
    form.elements.outcome.value = o.outcome;
    form.elements.findings.value = o.findings || "";
    form.elements.treatment.value = o.treatment || "";
    if (o.death) {
      form.elements["death.noticed_at"].value = inputTime(o.death.noticed_at);
      form.elements["death.confirmed_at"].value = inputTime(o.death.confirmed_at);
      form.elements["death.certificate_by"].value = o.death.certificate_by;
      form.elements["death.related_to_treated_disease"].value = String(o.death.related_to_treated_disease);
      form.elements["death.police_informed"].value = String(o.death.police_informed);
    }
    document.getElementById("death").hidden = o.outcome !== "death_pronounced";
  }
}

async function saveOutcome(event) {
  event.preventDefault();
  const form = event.target;
  const v = Object.fromEntries(new FormData(form));
  // What the form does not show (medication, visit times, the death note) stays as it was recorded.
  const kept = recorded ? { medication: recorded.medication, departed_at: recorded.departed_at,
    arrived_at: recorded.arrived_at, ended_at: recorded.ended_at } : {};
  const body = { ...kept, outcome: v.outcome || null, findings: v.findings || null, treatment: v.treatment || null };
  if (v.outcome === "death_pronounced") {
    body.death = {
      note: recorded && recorded.death ? recorded.death.note : null,
      noticed_at: tokyo(v["death.noticed_at"]), confirmed_at: tokyo(v["death.confirmed_at"]),
      related_to_treated_disease: yesNo(v["death.related_to_treated_disease"]),
      certificate_by: v["death.certificate_by"] || null, police_informed: yesNo(v["death.police_informed"]),
    };
  }
  const button = document.getElementById("save-outcome");
  button.disabled = true;
  const result = await api("POST", `/api/v1/cases/${CASE_ID}/outcome`, body).finally(() => { button.disabled = false; });
  if (!result.ok) return showFieldErrors(form, result);
  clearFieldErrors(form);
  toast(t("case.outcome_saved"), "ok");
  await load();
}

/** Search for the patient an unidentified call was about (the intake's search), then link one. */
async function searchToLink(event) {
  event.preventDefault();
  const form = event.target;
  const wanted = {};
  for (const [key, value] of new FormData(form)) if (key !== "reason" && String(value).trim()) wanted[key] = String(value).trim();
  const result = await api("POST", "/api/v1/patients/search", wanted);
  const list = document.getElementById("link-matches");
  if (!result.ok) {
    list.replaceChildren();
    return showFieldErrors(form, result);
  }
  clearFieldErrors(form);
  if (!result.data.length) return list.replaceChildren(el("li", { class: "empty" }, t("intake.no_match")));
  list.replaceChildren(...result.data.map((m) => el("li", {},
    `${m.name}（${m.name_kana}） ${m.date_of_birth} — ${m.clinic_label} ${m.clinic_patient_number} ${endingText(m.end_reason, m.ended_on)} `,
    el("button", { type: "button", onclick: () => linkTo(m, form) }, t("link.button")))));
}

async function linkTo(match, form) {
  const reason = form.elements.reason.value.trim();
  const result = await api("POST", `/api/v1/cases/${CASE_ID}/patient`, { patient_id: match.id, reason: reason || null });
  if (!result.ok) return showFieldErrors(form, result);
  toast(t("link.done"), "ok");
  document.getElementById("link-matches").replaceChildren();
  await load();
}

document.addEventListener("DOMContentLoaded", async () => {
  await loadReference("municipalities", "physicians", "clinics");
  document.getElementById("link-search").addEventListener("submit", searchToLink);
  await load();
  document.getElementById("outcome-form").addEventListener("submit", saveOutcome);
  document.querySelector('#outcome-form [name="outcome"]').addEventListener("change", (event) => {
    document.getElementById("death").hidden = event.target.value !== "death_pronounced";
  });
  for (const button of document.querySelectorAll("#progress-panel [data-step]")) {
    button.addEventListener("click", async () => {
      const result = await api("POST", `/api/v1/cases/${CASE_ID}/progress`, { step: button.dataset.step });
      if (!result.ok) toast(problemText(result), "error");
      await load();
    });
  }
  document.getElementById("cancel-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const button = form.querySelector("button");
    if (button.disabled || !confirm(t("case.cancel_confirm"))) return;
    button.disabled = true;
    const result = await api("POST", `/api/v1/cases/${CASE_ID}/cancel`, { reason: form.reason.value })
      .finally(() => { button.disabled = false; });
    if (!result.ok) return showFieldErrors(form, result);
    clearFieldErrors(form);
    toast(t("case.cancelled"), "ok");
    await load();
  });
  if (["operator", "consulting_physician", "coordinator", "admin"].includes(BOOT.user.role)) {
    const later = debounce(load, 200);
    liveEvents((event) => { if (event.case_id === CASE_ID) later(); }, later);
  }
});
