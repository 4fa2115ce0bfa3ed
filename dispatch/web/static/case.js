/* One case: what was said, the decision, offers, progress, the outcome form, and the timeline, live. */
"use strict";

const CASE_ID = BOOT.caseId;
const RECORDS = ["operator", "coordinator", "admin"].includes(BOOT.user.role);
const AMENDS = ["coordinator", "admin"].includes(BOOT.user.role); // a closed case's outcome, with a reason
const READS_AMENDMENTS = ["coordinator", "admin", "clinic_admin"].includes(BOOT.user.role);
const OUTCOME_STATES = ["on_scene", "visit_completed", "handed_off"];
const PROGRESS_STATES = ["accepted", "en_route", "on_scene"];
const CANCELLABLE = ["received", "triage_pending", "triaging", "dispatching", "offered", "unfilled", "accepted", "en_route"];
// Endings before the visit (flow.endings): who may record them, and from which states.
const ENDS_119 = ["operator", "consulting_physician", "coordinator", "admin"].includes(BOOT.user.role);
const CLOSES_UNFILLED = ["coordinator", "admin"].includes(BOOT.user.role);
const FAMILY_119_FROM = ["dispatching", "offered", "unfilled", "accepted", "en_route"];
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
    c.alarm ? el("span", { class: "flag alert" }, t("common.alerted")) : null,
    c.ended_because ? el("span", { class: "flag", dataset: { ending: c.ended_because } }, label("ending", c.ended_because)) : null,
    c.intake.enrolment_ended ? el("span", { class: "flag alert" },
      endingText(c.intake.enrolment_ended.reason, c.intake.enrolment_ended.ended_on)) : null,
  ].filter(Boolean));
  document.body.dataset.state = c.state;
  facts("call-body", [
    [t("common.called_at"), fmtTime(c.called_at)],
    [t("common.area"), nameOf("areas", c.programme_id)],
    [t("common.clinic"), nameOf("clinics", c.clinic_id)],
    [t("common.municipality"), nameOf("municipalities", c.municipality_id)],
    [t("field.caller_relation"), `${label("caller_relation", c.caller_relation)} ${c.caller_name || ""}`],
    [t("field.callback_phone"), fmtPhone(c.callback_phone_e164)],
    [t("case.family_updates"), t(c.family_updates_consent ? "case.family_updates_on" : "common.no")],
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
    ...(c.ended_because ? [[t("ending.label"), label("ending", c.ended_because)]] : []),
  ]);
  document.getElementById("timeline").replaceChildren(...c.timeline.slice().reverse().map((e) => el("li", { dataset: { kind: e.kind } },
    el("time", { datetime: e.at }, fmtTime(e.at)), " ", eventWords(e))));
  document.getElementById("link-panel").hidden = !LINKS || c.patient_id !== null;
  if (c.patient_id && !profileShown && BOOT.user.role !== "admin") {
    profileShown = true;
    await showProfile(c.patient_id, document.getElementById("profile"), document.getElementById("profile-body"));
  }
  const offers = await api("GET", `/api/v1/cases/${CASE_ID}/offers`);
  if (offers.ok) {
    const open = ["unfilled", "dispatching", "offered", "accepted", "en_route"].includes(c.state);
    const picked = open ? await loadCandidates(CASE_ID) : null;
    document.getElementById("offers").replaceChildren(...[stopNote(picked), offersTable(offers.data)].filter(Boolean));
    document.getElementById("hand").replaceChildren(...[pickerTable(picked),
      open ? handControls(CASE_ID, load, c.assigned_physician_id, picked) : null].filter(Boolean));
  } else document.getElementById("offers-panel").hidden = true;
  document.getElementById("progress-panel").hidden = !RECORDS || !PROGRESS_STATES.includes(c.state);
  document.getElementById("cancel-panel").hidden = !RECORDS || !CANCELLABLE.includes(c.state);
  const ems = ENDS_119 && FAMILY_119_FROM.includes(c.state);
  const unfilled = CLOSES_UNFILLED && c.state === "unfilled";
  document.getElementById("ems-form").hidden = !ems;
  document.getElementById("unfilled-form").hidden = !unfilled;
  document.getElementById("ending-panel").hidden = !ems && !unfilled;
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
    ...(o.outcome === "transported_admitted" ? [[t("outcome.destination"), destinationText(o)]] : []),
    [t("outcome.findings"), o.findings],
    [t("outcome.treatment"), o.treatment],
    ...(o.death ? [[t("death.confirmed_at"), fmtTime(o.death.confirmed_at)],
      [t("death.certificate_by"), label("certificate_by", o.death.certificate_by)]] : []),
  ] : []);
  const form = document.getElementById("outcome-form");
  const amending = AMENDS && c.state === "closed" && o !== null;
  form.hidden = !amending && (!RECORDS || !OUTCOME_STATES.includes(c.state));
  form.dataset.mode = amending ? "amend" : "record";
  document.getElementById("amend-hint").hidden = !amending;
  // A correction says why: required after closing, optional before (then it is kept as 「訂正」).
  document.getElementById("reason-field").hidden = !o;
  document.getElementById("reason-words").textContent = t(amending ? "amend.reason" : "amend.reason_optional");
  document.getElementById("save-outcome").textContent = t(amending ? "amend.submit" : "common.save");
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
    form.elements.destination_hospital_id.value = o.destination_hospital_id ?? "";
    form.elements.destination_note.value = o.destination_note || "";
    document.getElementById("destination").hidden = o.outcome !== "transported_admitted";
  }
  await loadAmendments(o);
}

const FIELD_WORDS = {
  outcome: t("case.outcome"), findings: t("outcome.findings"), treatment: t("outcome.treatment"),
  medication: t("amend.field.medication"), departed_at: t("amend.field.departed_at"),
  arrived_at: t("amend.field.arrived_at"), ended_at: t("amend.field.ended_at"),
};
const DEATH_WORDS = {
  noticed_at: t("death.noticed_at"), confirmed_at: t("death.confirmed_at"), related_to_treated_disease: t("death.related"),
  certificate_by: t("death.certificate_by"), police_informed: t("death.police_informed"), note: t("amend.field.note"),
  confirming_physician_id: t("amend.field.confirming_physician"),
};
const KEPT_ASIDE = ["death", "recorded_by", "recorded_at"]; // who wrote a version is the amendment's "who"

/** A kept value in the reader's words. */
function shown(field, value) {
  if (value === null || value === undefined || value === "") return t("common.none");
  if (field === "outcome" || field === "certificate_by") return label(field, value);
  if (field === "confirming_physician_id") return nameOf("physicians", value);
  if (typeof value === "boolean") return value ? t("common.yes") : t("common.no");
  if (field.endsWith("_at")) return fmtTime(value);
  return String(value);
}

/** [what, before, after] for each value one version changed. */
function changes(before, after) {
  const rows = [];
  const differ = (words, b, a) => {
    for (const key of new Set([...Object.keys(words), ...Object.keys(b), ...Object.keys(a)])) {
      if (KEPT_ASIDE.includes(key) || (b[key] ?? null) === (a[key] ?? null)) continue;
      rows.push([words[key] || key, shown(key, b[key]), shown(key, a[key])]);
    }
  };
  differ(FIELD_WORDS, before, after);
  if (Boolean(before.death) !== Boolean(after.death)) {
    rows.push([t("death.title"), before.death ? t("amend.present") : t("common.none"),
      after.death ? t("amend.present") : t("common.none")]);
  }
  if (before.death || after.death) differ(DEATH_WORDS, before.death || {}, after.death || {});
  return rows;
}

/** Every earlier version of the outcome: who changed it, when, why, and what changed. */
async function loadAmendments(o) {
  const panel = document.getElementById("amendments-panel");
  const result = READS_AMENDMENTS && o ? await api("GET", `/api/v1/cases/${CASE_ID}/outcome/amendments`) : null;
  panel.hidden = !result || !result.ok || result.data.length === 0;
  if (panel.hidden) return;
  document.getElementById("amendments").replaceChildren(...result.data.slice().reverse().map((a) => {
    const rows = changes(a.before, a.after);
    return el("li", {},
      el("time", { datetime: a.amended_at }, fmtTime(a.amended_at)), " ",
      el("strong", {}, a.amended_by_name || a.amended_by), ` — ${t("field.reason")}: ${a.reason}`,
      rows.length ? el("ul", { class: "changes" }, rows.map(([what, b, after]) =>
        el("li", {}, `${what}: `, el("del", {}, b), " → ", el("ins", {}, after))))
        : el("p", { class: "muted" }, t("amend.no_change")));
  }));
}

/** Where a transported patient went: the listed hospital's name, or the hospital in words. */
function destinationText(o) {
  return [o.destination_hospital_name, o.destination_note].filter(Boolean).join(" / ") || "—";
}

/** The hospitals a transport can name, for the outcome form (loaded once, for those who record outcomes). */
async function loadDestinations() {
  const result = await api("GET", "/api/v1/hospitals");
  if (!result.ok) return;
  const select = document.querySelector('#outcome-form [name="destination_hospital_id"]');
  select.append(...result.data.filter((h) => h.active).map((h) => el("option", { value: h.id }, h.name)));
}

async function saveOutcome(event) {
  event.preventDefault();
  const form = event.target;
  const v = Object.fromEntries(new FormData(form));
  // What the form does not show (medication, visit times, the death note) stays as it was recorded.
  const kept = recorded ? { medication: recorded.medication, departed_at: recorded.departed_at,
    arrived_at: recorded.arrived_at, ended_at: recorded.ended_at } : {};
  const body = { ...kept, outcome: v.outcome || null, findings: v.findings || null, treatment: v.treatment || null };
  if (v.outcome === "transported_admitted") {
    body.destination_hospital_id = v.destination_hospital_id ? Number(v.destination_hospital_id) : null;
    body.destination_note = v.destination_note || null;
    if (!body.destination_hospital_id && !body.destination_note) {
      // Said here in the reader's words; the server would refuse it too, naming destination_hospital_id.
      return showFieldErrors(form, { data: { errors: [
        { field: "destination_hospital_id", problem: t("outcome.destination_required") }] } });
    }
  }
  if (v.outcome === "death_pronounced") {
    body.death = {
      note: recorded && recorded.death ? recorded.death.note : null,
      noticed_at: tokyo(v["death.noticed_at"]), confirmed_at: tokyo(v["death.confirmed_at"]),
      related_to_treated_disease: yesNo(v["death.related_to_treated_disease"]),
      certificate_by: v["death.certificate_by"] || null, police_informed: yesNo(v["death.police_informed"]),
    };
  }
  const amending = form.dataset.mode === "amend";
  if (recorded && v.reason && v.reason.trim()) body.reason = v.reason.trim();
  if (amending) {
    const removing = recorded && recorded.death && v.outcome !== "death_pronounced";
    if (!body.reason) {
      // Said at the field before asking to confirm: the server would refuse it as well.
      return showFieldErrors(form, { data: { errors: [{ field: "reason", problem: "Field required" }] } });
    }
    if (!confirm(t(removing ? "amend.confirm_death_removed" : "amend.confirm"))) return;
  }
  const button = document.getElementById("save-outcome");
  button.disabled = true;
  const path = `/api/v1/cases/${CASE_ID}/outcome${amending ? "/amendments" : ""}`;
  const result = await api("POST", path, body).finally(() => { button.disabled = false; });
  if (!result.ok) return showFieldErrors(form, result);
  clearFieldErrors(form);
  form.elements.reason.value = "";
  toast(t(amending ? "amend.saved" : "case.outcome_saved"), "ok");
  await load();
}

/** An ending before the visit: a reason, a confirmation, then the route; a wrong state is said in words. */
function endingForm(id, path, confirmKey, doneKey) {
  document.getElementById(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const button = form.querySelector("button");
    if (button.disabled) return;
    if (!form.reason.value.trim()) {
      return showFieldErrors(form, { status: 422, data: { errors: [{ field: "reason", problem: "Field required" }] } });
    }
    if (!confirm(t(confirmKey))) return;
    button.disabled = true;
    const result = await api("POST", `/api/v1/cases/${CASE_ID}/${path}`, { reason: form.reason.value })
      .finally(() => { button.disabled = false; });
    if (result.status === 409 && result.data && result.data.current_state) {
      toast(t("ending.wrong_state").replace("{state}", label("state", result.data.current_state)), "error");
      return load();
    }
    if (!result.ok) return showFieldErrors(form, result);
    clearFieldErrors(form);
    form.reset();
    toast(t(doneKey), "ok");
    await load();
  });
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
    `${m.name}（${m.name_kana}） ${label("sex", m.sex)} ${fmtBirthDate(m.date_of_birth)} — ${m.clinic_label} ${m.clinic_patient_number} ${endingText(m.end_reason, m.ended_on)} `,
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
  await loadReference("municipalities", "physicians", "clinics", "areas");
  if (RECORDS) await loadDestinations();
  endingForm("ems-form", "referred-ems", "ending.confirm_119", "ending.done_119");
  endingForm("unfilled-form", "close-unfilled", "ending.confirm_unfilled", "ending.done_unfilled");
  document.getElementById("link-search").addEventListener("submit", searchToLink);
  await load();
  document.getElementById("outcome-form").addEventListener("submit", saveOutcome);
  document.querySelector('#outcome-form [name="outcome"]').addEventListener("change", (event) => {
    document.getElementById("death").hidden = event.target.value !== "death_pronounced";
    document.getElementById("destination").hidden = event.target.value !== "transported_admitted";
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
