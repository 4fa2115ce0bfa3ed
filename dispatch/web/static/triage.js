/* The consulting physician's queue: most urgent first, then longest waiting; claim, read, decide. */
"use strict";

const I_DECIDE = BOOT.user.role === "consulting_physician";
// Which JTAS levels sit with which #7119 colour (the server refuses other pairs, and says why).
const JTAS = { red: [1, 2], orange: [2, 3], yellow: [3, 4], green: [4, 5], white: [5] };
let selected = null;
let shown = null; // the case whose details are on the screen

async function loadQueue() {
  const result = await api("GET", "/api/v1/triage/queue");
  if (!result.ok) return toast(problemText(result), "error");
  const list = document.getElementById("queue");
  list.replaceChildren(...result.data.map((item) => el("li", {},
    el("button", {
      type: "button", class: `queue-item ${selected === item.id ? "chosen" : ""}`, dataset: { caseId: item.id },
      onclick: () => select(item.id),
    },
    urgencyBadge(item.urgency), el("strong", {}, item.reference), stateBadge(item.state),
    el("span", { class: "wait", dataset: { since: item.called_at } }, fmtMinutes(minutesSince(item.called_at))),
    el("span", {}, nameOf("municipalities", item.municipality_id)),
    item.claimed_by_physician_id ? el("span", { class: "muted" },
      item.claimed_by_physician_id === BOOT.user.physicianId ? t("triage.claimed_by_me") : t("triage.claimed_by_other")) : null))));
  document.getElementById("queue-empty").hidden = result.data.length > 0;
  return result.data;
}

async function select(caseId) {
  selected = caseId;
  document.querySelectorAll(".queue-item").forEach((b) => b.classList.toggle("chosen", Number(b.dataset.caseId) === caseId));
  // Nothing of another case shows while this one loads: a decision must go to the case on the screen. The
  // same case read again (after a decision) stays shown, also when the read fails.
  const detail = document.getElementById("triage-detail");
  const again = shown === caseId && !detail.hidden;
  if (!again) detail.hidden = true;
  const result = await api("GET", `/api/v1/cases/${caseId}`).catch(() => NO_ANSWER);
  if (selected !== caseId) return;
  if (!result.ok) {
    if (!again) document.getElementById("triage-pick").hidden = false;
    return toast(problemText(result), "error");
  }
  shown = caseId;
  const c = result.data;
  document.getElementById("triage-pick").hidden = true;
  document.getElementById("triage-detail").hidden = false;
  document.getElementById("triage-title").replaceChildren(urgencyBadge(c.urgency || c.provisional_urgency), ` ${c.reference} `, stateBadge(c.state));
  const facts = [
    [t("common.called_at"), fmtTime(c.called_at)],
    [t("field.caller_relation"), `${label("caller_relation", c.caller_relation)} ${c.caller_name || ""}`],
    [t("field.callback_phone"), fmtPhone(c.callback_phone_e164)],
    [t("field.chief_complaint"), c.chief_complaint || "—"],
    [t("field.onset"), c.intake.onset || "—"],
    [t("field.consciousness"), label("consciousness", c.intake.consciousness)],
    [t("field.breathing"), label("breathing", c.intake.breathing)],
    [t("field.vitals"), fmtVitals(c.intake.vitals)],
  ];
  document.getElementById("call-body").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const profile = document.getElementById("profile");
  profile.hidden = true;
  if (c.patient_id) await showProfile(c.patient_id, profile, document.getElementById("profile-body"));
  if (selected !== caseId) return;
  document.getElementById("decision-form").reset();
  showActions(c);
}

function showActions(c) {
  const mine = c.triage_physician_id !== null && c.triage_physician_id === BOOT.user.physicianId;
  document.getElementById("claim").hidden = !I_DECIDE || c.state !== "triage_pending";
  document.getElementById("release").hidden = !I_DECIDE || c.state !== "triaging" || !mine;
  document.getElementById("decision-form").hidden = !I_DECIDE || c.state !== "triaging" || !mine;
  document.getElementById("claim-holder").textContent =
    c.state === "triaging" && !mine ? t("triage.claimed_by_other") : "";
  fitJtas();
}

function fitJtas() {
  const urgency = document.querySelector('#decision-form [name="urgency"]').value;
  const jtas = document.querySelector('#decision-form [name="jtas_level"]');
  const allowed = JTAS[urgency] || [1, 2, 3, 4, 5];
  // Only the levels that fit the colour can be chosen; none is chosen for the physician.
  for (const option of jtas.options) option.disabled = option.value !== "" && !allowed.includes(Number(option.value));
  if (jtas.value && !allowed.includes(Number(jtas.value))) jtas.value = "";
}

async function act(path, body) {
  const result = await api("POST", `/api/v1/cases/${selected}/${path}`, body).catch(() => NO_ANSWER);
  if (!result.ok && result.status !== 422) toast(problemText(result), "error");
  if (result.status === 409) {
    await loadQueue();
    await select(selected);
  }
  return result;
}

async function decide(event) {
  event.preventDefault();
  const form = event.target;
  const values = Object.fromEntries(new FormData(form));
  const body = { disposition: values.disposition || null, urgency: values.urgency || null,
    jtas_level: values.jtas_level ? Number(values.jtas_level) : null, note: values.note || null };
  const button = document.getElementById("decide");
  button.disabled = true;
  const caseId = selected;
  const result = await act("decision", body).finally(() => { button.disabled = false; });
  if (selected !== caseId) return;
  if (!result.ok) return showFieldErrors(form, result);
  clearFieldErrors(form);
  form.reset();
  toast(`${result.data.reference}: ${label("state", result.data.state)}`, "ok");
  await loadQueue();
  await select(selected);
}

document.addEventListener("DOMContentLoaded", async () => {
  await loadReference("municipalities", "physicians");
  await loadQueue();
  document.getElementById("claim").addEventListener("click", async () => {
    const result = await act("claim");
    if (result.ok) await select(selected);
    await loadQueue();
  });
  document.getElementById("release").addEventListener("click", async () => {
    await act("release", {});
    await select(selected);
    await loadQueue();
  });
  document.getElementById("decision-form").addEventListener("submit", decide);
  document.querySelector('#decision-form [name="urgency"]').addEventListener("change", fitJtas);
  // Live changes refresh the queue and the buttons from it; the case itself (an audited read) is not re-read.
  const later = debounce(async () => {
    const items = await loadQueue();
    const item = items && items.find((i) => i.id === selected);
    if (item) showActions({ ...item, triage_physician_id: item.claimed_by_physician_id });
    else if (selected) showActions({ state: "gone", triage_physician_id: null });
  }, 200);
  liveEvents(later, later);
  setInterval(() => document.querySelectorAll(".queue-item .wait").forEach((n) => {
    n.textContent = fmtMinutes(minutesSince(n.dataset.since));
  }), 15000);
});
