/* One case: what was said, the decision, offers, progress, the outcome form, and the timeline, live. */
"use strict";

const CASE_ID = BOOT.caseId;
const RECORDS = ["operator", "coordinator", "admin"].includes(BOOT.user.role);
const OUTCOME_STATES = ["on_scene", "visit_completed", "handed_off"];
const PROGRESS_STATES = ["accepted", "en_route", "on_scene"];
const CANCELLABLE = ["received", "triage_pending", "triaging", "dispatching", "offered", "unfilled", "accepted", "en_route"];
let profileShown = false;

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
  if (c.patient_id && !profileShown && BOOT.user.role !== "admin") {
    profileShown = true;
    await showProfile(c.patient_id, document.getElementById("profile"), document.getElementById("profile-body"));
  }
  const offers = await api("GET", `/api/v1/cases/${CASE_ID}/offers`);
  if (offers.ok) {
    document.getElementById("offers").replaceChildren(offersTable(offers.data));
    if (["unfilled", "dispatching", "offered", "accepted", "en_route"].includes(c.state) && COORDINATES) {
      await loadOnCall();
      document.getElementById("hand").replaceChildren(handControls(CASE_ID, load));
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
    document.getElementById("death").hidden = o.outcome !== "death_pronounced";
  }
}

async function saveOutcome(event) {
  event.preventDefault();
  const form = event.target;
  const v = Object.fromEntries(new FormData(form));
  const body = { outcome: v.outcome || null, findings: v.findings || null, treatment: v.treatment || null };
  if (v.outcome === "death_pronounced") {
    body.death = {
      noticed_at: tokyo(v["death.noticed_at"]), confirmed_at: tokyo(v["death.confirmed_at"]),
      related_to_treated_disease: form.elements["death.related_to_treated_disease"].checked,
      certificate_by: v["death.certificate_by"], police_informed: form.elements["death.police_informed"].checked,
    };
  }
  const button = document.getElementById("save-outcome");
  button.disabled = true;
  const result = await api("POST", `/api/v1/cases/${CASE_ID}/outcome`, body);
  button.disabled = false;
  if (!result.ok) return showFieldErrors(form, result);
  clearFieldErrors(form);
  toast(t("case.outcome_saved"), "ok");
  await load();
}

document.addEventListener("DOMContentLoaded", async () => {
  await loadReference("municipalities", "physicians", "clinics");
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
    const result = await api("POST", `/api/v1/cases/${CASE_ID}/cancel`, { reason: event.target.reason.value });
    if (!result.ok) return showFieldErrors(event.target, result);
    await load();
  });
  if (["operator", "consulting_physician", "coordinator", "admin"].includes(BOOT.user.role)) {
    const later = debounce(load, 200);
    liveEvents((event) => { if (event.case_id === CASE_ID) later(); });
  }
});
