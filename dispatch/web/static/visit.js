/* The physician's details page: the next step with a confirmation, and the outcome from the phone. */
"use strict";

const WORDS = JSON.parse(document.getElementById("visit-words").textContent);
const w = (key) => WORDS[key] ?? key;
const HERE = location.pathname.replace(/\/$/, "");

/** A link that no longer opens the case (or a step already taken): the page itself says what now. */
function reloadSoon(message) {
  const status = document.getElementById("step-status");
  if (message && status) status.textContent = message;
  setTimeout(() => location.reload(), message ? 1500 : 0);
}

// 出発 → 到着 → 完了: one button; a second tap on 「記録する」 records it.
const stepForm = document.getElementById("step-form");
if (stepForm) {
  const confirmBox = document.getElementById("step-confirm");
  const yes = document.getElementById("confirm-yes");
  const status = document.getElementById("step-status");
  stepForm.addEventListener("submit", (event) => {
    event.preventDefault();
    stepForm.hidden = true;
    confirmBox.hidden = false;
    yes.focus();
  });
  document.getElementById("confirm-no").addEventListener("click", () => {
    confirmBox.hidden = true;
    stepForm.hidden = false;
    document.getElementById("next-step").focus();
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      const response = await fetch(stepForm.action, {
        method: "POST", body: new URLSearchParams(new FormData(stepForm)), redirect: "manual",
      });
      if (response.type === "opaqueredirect" || response.ok) return location.reload();
      if (response.status === 409) return reloadSoon(w("visit.step_refused"));
      return reloadSoon(); // 404 / 410: the page now says the link is closed
    } catch {
      status.textContent = w("visit.network_error");
      yes.disabled = false;
    }
  });
}

const form = document.getElementById("outcome-form");
if (form) {
  const saved = document.getElementById("outcome-saved");
  const chosen = () => form.querySelector('[name="outcome"]:checked')?.value || "";
  const showParts = () => {
    document.getElementById("transport").hidden = chosen() !== "transported_admitted";
    document.getElementById("death").hidden = chosen() !== "death_pronounced";
  };
  form.addEventListener("change", showParts);
  showParts();
  document.getElementById("correct")?.addEventListener("click", () => {
    saved.hidden = true;
    form.hidden = false;
    form.querySelector('[name="outcome"]:checked, [name="outcome"]').focus();
  });
  document.getElementById("cancel-correct")?.addEventListener("click", () => {
    form.hidden = true;
    saved.hidden = false;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
}

function value(name) {
  const field = form.querySelector(`[name="${name}"]:checked`) || form.querySelector(`[name="${name}"]:not([type="radio"])`);
  const text = field ? field.value.trim() : "";
  return text === "" ? null : text;
}

/** A datetime-local value as an ISO time in the programme's zone (the page says its offset). */
function isoTime(local) {
  return local ? `${local}:00${form.dataset.offset}` : null;
}

function showErrors(errors) {
  form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  const general = document.getElementById("form-error");
  general.hidden = true;
  let first = null;
  for (const [name, message] of Object.entries(errors)) {
    const slot = document.getElementById(`error-${name}`);
    if (!slot) { general.textContent = message; general.hidden = false; continue; }
    slot.textContent = message;
    slot.hidden = false;
    const input = form.querySelector(`#${name}, [name="${name}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); first ??= input; }
  }
  if (Object.keys(errors).length) {
    if (general.hidden) { general.textContent = w("visit.error.form"); general.hidden = false; }
    (first || general).focus?.();
  }
}

/** The body the outcome API takes, and what is missing, in words, by field. */
function collect() {
  const errors = {};
  const outcome = value("outcome");
  const body = { outcome, findings: value("findings"), treatment: value("treatment"), medication: value("medication") };
  if (!outcome) errors.outcome = w("visit.error.choose");
  for (const [key, data] of [["departed_at", "departed"], ["arrived_at", "arrived"], ["ended_at", "ended"]]) {
    if (form.dataset[data]) body[key] = form.dataset[data];
  }
  if (outcome === "transported_admitted") {
    const hospital = value("destination_hospital_id");
    body.destination_hospital_id = hospital ? Number(hospital) : null;
    body.destination_note = value("destination_note");
    if (!hospital && !body.destination_note) errors.destination = w("visit.error.destination");
  }
  if (outcome === "death_pronounced") {
    const death = {
      noticed_at: isoTime(value("noticed_at")), confirmed_at: isoTime(value("confirmed_at")),
      related_to_treated_disease: value("related") === null ? null : value("related") === "true",
      certificate_by: value("certificate_by"),
      police_informed: value("police") === null ? null : value("police") === "true",
      note: value("death_note"),
    };
    if (!death.noticed_at) errors.noticed_at = w("visit.error.required");
    if (!death.confirmed_at) errors.confirmed_at = w("visit.error.required");
    if (death.noticed_at && death.confirmed_at && Date.parse(death.confirmed_at) < Date.parse(death.noticed_at)) {
      errors.confirmed_at = w("visit.error.order");
    }
    for (const [name, key] of [["related", "related_to_treated_disease"], ["certificate_by", "certificate_by"], ["police", "police_informed"]]) {
      if (death[key] === null) errors[name] = w("visit.error.choose");
    }
    body.death = death;
  }
  return { body, errors };
}

// The API's field names → the page's error slots; its English problems → Japanese words.
const SLOTS = { destination_hospital_id: "destination", destination_note: "destination", "death.noticed_at": "noticed_at",
  "death.confirmed_at": "confirmed_at", "death.related_to_treated_disease": "related", "death.certificate_by": "certificate_by",
  "death.police_informed": "police", "death.note": "death_note", departed_at: "form", arrived_at: "form", ended_at: "form" };

function serverErrors(payload) {
  const errors = {};
  const list = payload.errors || [{ field: "body", problem: String(payload.detail || "") }];
  for (const { field, problem } of list) {
    const named = /^([a-z_]+(?:\.[a-z_]+)?): (.*)$/.exec(problem);
    let name = field;
    if (named && (field === "body" || field === "death")) name = field === "death" ? `death.${named[1]}` : named[1];
    const slot = SLOTS[name] || name.replace(/^death\./, "");
    const text = problem.includes("destination") ? w("visit.error.destination")
      : problem.includes("cannot be before") ? (slot === "confirmed_at" ? w("visit.error.order") : w("visit.error.times"))
        : /required|missing/i.test(problem) ? w("visit.error.required") : w("visit.error.invalid");
    errors[slot === "form" ? "general" : slot] = text;
  }
  return errors;
}

async function save() {
  const { body, errors } = collect();
  showErrors(errors);
  if (Object.keys(errors).length) return;
  const button = document.getElementById("save-outcome");
  button.disabled = true;
  button.textContent = w("visit.saving");
  try {
    const response = await fetch(`${HERE}/outcome`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (response.ok) return location.reload();
    if (response.status === 404 || response.status === 410) return location.reload();
    const payload = await response.json().catch(() => ({}));
    showErrors(response.status === 422 ? serverErrors(payload) : { general: w("visit.error.closed") });
  } catch {
    showErrors({ general: w("visit.network_error") });
  }
  button.disabled = false;
  button.textContent = w("visit.save");
}
