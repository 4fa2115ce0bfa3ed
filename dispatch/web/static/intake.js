/* Log a call: find the patient, see their care profile, log the call once however often it is submitted. */
"use strict";

let patientId = null;
let idempotencyKey = newKey();
let calledAtEdited = false; // the call time follows the clock until the operator changes it (a call logged late)

/** A fresh idempotency key for the next call (one per call, kept across retries of it). */
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function filled(form) {
  const out = {};
  for (const [key, value] of new FormData(form)) if (String(value).trim() !== "") out[key] = String(value).trim();
  return out;
}

async function search(event) {
  event.preventDefault();
  const form = event.target;
  const result = await api("POST", "/api/v1/patients/search", filled(form));
  const list = document.getElementById("matches");
  if (!result.ok) {
    showFieldErrors(form, result);
    list.replaceChildren();
    return;
  }
  clearFieldErrors(form);
  if (result.data.length === 0) {
    list.replaceChildren(el("li", { class: "empty" }, t("intake.no_match")));
    return;
  }
  list.replaceChildren(...result.data.map((m) => el("li", {},
    el("button", { type: "button", class: "match", dataset: { patientId: m.id }, onclick: () => choose(m) },
      `${m.name}（${m.name_kana}） ${label("sex", m.sex)} ${fmtBirthDate(m.date_of_birth)} — ${m.clinic_label} ${m.clinic_patient_number} — ${m.municipality}`,
      m.ended_on ? el("strong", { class: "flag alert" }, endingText(m.end_reason, m.ended_on)) : null))));
  list.querySelector("button").focus();
}

async function choose(match) {
  patientId = match.id;
  document.getElementById("unidentified").checked = false;
  document.getElementById("municipality-row").hidden = true;
  document.getElementById("selected").textContent = `${t("intake.selected")}: ${match.name}（${match.clinic_label}）`;
  document.querySelectorAll(".match").forEach((b) => b.classList.toggle("chosen", Number(b.dataset.patientId) === match.id));
  await showProfile(match.id, document.getElementById("profile"), document.getElementById("profile-body"));
  document.querySelector('#intake-form [name="caller_relation"]').focus();
}

function unidentifiedChanged(event) {
  const on = event.target.checked;
  document.getElementById("municipality-row").hidden = !on;
  if (on) {
    patientId = null;
    document.getElementById("profile").hidden = true;
    document.getElementById("selected").textContent = t("intake.unidentified");
  }
}

/** The call time field: now (local), until the operator sets the real time of a call logged late. */
function followClock() {
  if (calledAtEdited) return;
  const input = document.getElementById("called-at");
  const now = localMinute(serverNow());
  if (input.value !== now) {
    input.value = now;
    showHours();
  }
}

/** Whether the call time is in night/holiday hours (時間内) or not (時間外), asked of the programme's rule. */
async function showHours() {
  const input = document.getElementById("called-at");
  const flag = document.getElementById("hours-flag");
  if (!input.value) {
    flag.textContent = "";
    flag.className = "flag";
    return;
  }
  const at = localToIso(input.value);
  const ms = Date.parse(at);
  if (ms > serverNow() + 2 * 60000 || ms < serverNow() - 7 * 86400000) {
    flag.textContent = t(ms > serverNow() ? "hours.future" : "hours.too_old");
    flag.className = "flag hours-out";
    return;
  }
  const result = await api("GET", `/api/v1/programme/service-hours?at=${encodeURIComponent(at)}`);
  if (input.value !== at.slice(0, 16)) return; // changed again while we asked
  if (!result.ok) {
    flag.textContent = "";
    flag.className = "flag";
    return;
  }
  flag.textContent = t(result.data.in_service_hours ? "hours.in" : "hours.out");
  flag.className = `flag ${result.data.in_service_hours ? "hours-in" : "hours-out"}`;
  flag.dataset.inServiceHours = String(result.data.in_service_hours);
}

/** A Japanese mobile number (070/080/090), the only kind an SMS reaches: as typed, half- or full-width. */
function isMobile(text) {
  const digits = text.normalize("NFKC").replace(/[^\d+]/g, "").replace(/^\+81/, "0");
  return /^0[789]0\d{8}$/.test(digits);
}

/** The family's SMS updates can be agreed to only for a mobile callback number. */
function callbackChanged() {
  const phone = document.querySelector('#intake-form [name="callback_phone"]').value;
  const consent = document.getElementById("family-consent");
  const mobile = isMobile(phone);
  consent.disabled = !mobile;
  if (!mobile) consent.checked = false;
  document.getElementById("family-consent-hint").hidden = mobile;
}

function body(form) {
  const values = filled(form);
  const out = { vitals: {} };
  for (const [key, value] of Object.entries(values)) {
    if (key.startsWith("vitals.")) out.vitals[key.slice(7)] = Number(value);
    else if (key === "family_updates_consent") out.family_updates_consent = true;
    else if (key === "called_at") {
      if (calledAtEdited) out.called_at = localToIso(value); // else the server's now: the call is live
    } else out[key] = value;
  }
  if (document.getElementById("unidentified").checked) {
    const municipality = document.getElementById("municipality").value;
    out.patient = { unidentified: true, municipality_id: municipality ? Number(municipality) : null };
  } else if (patientId) {
    out.patient = { patient_id: patientId };
  }
  return out;
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  const button = document.getElementById("intake-submit");
  if (button.disabled) return; // a double click while the first is in flight
  const payload = body(form);
  if (!payload.patient) {
    const summary = form.querySelector(".form-error");
    summary.textContent = t("intake.pick_patient");
    summary.hidden = false;
    return;
  }
  button.disabled = true;
  try {
    // The same key on a retry or a second click: the server answers with the case it already made.
    const result = await api("POST", "/api/v1/cases", payload, { "Idempotency-Key": idempotencyKey });
    if (!result.ok) {
      if (result.data && result.data.earlier_case) return alreadyLogged(form, result.data.earlier_case);
      // A refused call made no case, so the corrected one may go with a new key.
      if (result.status === 422) idempotencyKey = newKey();
      showFieldErrors(form, result);
      return;
    }
    logged(form, result);
  } catch (error) {
    // The answer was lost on the way: the key stays, so sending again returns the case if it was made.
    toast(t("intake.retry"), "error");
  } finally {
    button.disabled = false;
  }
}

/** The answer to an earlier press was lost and the call was changed since: the case exists already.
    Say which, and start the next call afresh; the change belongs on that case's page. */
function alreadyLogged(form, earlier) {
  clearFieldErrors(form);
  const summary = form.querySelector(".form-error");
  summary.replaceChildren(`${t("intake.already_logged")}: `, el("a", { href: `/cases/${earlier.id}` }, earlier.reference));
  summary.hidden = false;
  idempotencyKey = newKey();
}

function logged(form, result) {
  clearFieldErrors(form);
  toast(`${t("intake.logged")}: ${result.data.reference}`, "ok");
  const notice = el("p", { class: "logged", id: "logged" }, `${t("intake.logged")}: `,
    el("a", { href: `/cases/${result.data.id}` }, result.data.reference));
  document.getElementById("logged")?.remove();
  form.prepend(notice);
  form.reset();
  calledAtEdited = false;
  callbackChanged();
  followClock();
  patientId = null;
  idempotencyKey = newKey();
  document.getElementById("selected").textContent = t("intake.pick_patient");
  document.getElementById("profile").hidden = true;
  document.getElementById("matches").replaceChildren();
  document.getElementById("search-form").reset();
  document.querySelector('#search-form [name="clinic_patient_number"]').focus(); // ready for the next call
}

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("search-form").addEventListener("submit", search);
  document.getElementById("intake-form").addEventListener("submit", submit);
  document.getElementById("unidentified").addEventListener("change", unidentifiedChanged);
  document.querySelector('#intake-form [name="callback_phone"]').addEventListener("input", callbackChanged);
  const calledAt = document.getElementById("called-at");
  const asked = debounce(showHours, 300);
  calledAt.addEventListener("input", () => {
    calledAtEdited = true;
    asked();
  });
  followClock();
  setInterval(followClock, 15000);
  await loadReference("municipalities");
  document.getElementById("municipality").replaceChildren(el("option", { value: "" }, "—"),
    ...[...reference.municipalities.values()].map((m) => el("option", { value: m.id }, m.name)));
});
