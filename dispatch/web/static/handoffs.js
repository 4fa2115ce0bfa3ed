/* Morning handoffs (申し送り) per clinic: the night's cases for the attending physician, and the receipt. */
"use strict";

const ACKNOWLEDGES = ["clinic_admin", "coordinator", "admin"].includes(BOOT.user.role);
const MAKES = ["coordinator", "admin"].includes(BOOT.user.role);
let current = null;

function status(h) {
  if (h.acknowledged_at) return el("span", { class: "flag ok" }, `${t("handoffs.acknowledged")} ${fmtTime(h.acknowledged_at)}`);
  if (h.flagged_at) return el("span", { class: "flag alert" }, t("handoffs.flagged"));
  return el("span", { class: "flag" }, "—");
}

async function list() {
  const result = await api("GET", "/api/v1/handoffs");
  if (!result.ok) return toast(problemText(result), "error");
  document.querySelector("#handoffs tbody").replaceChildren(...result.data.map((h) => el("tr", {
    class: current === h.id ? "chosen" : "", dataset: { handoffId: h.id }, tabindex: 0, role: "button",
    onclick: () => open(h.id),
    onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(h.id); } },
  },
  el("td", {}, h.clinic_label), el("td", {}, `${fmtTime(h.period_start)} – ${fmtTime(h.period_end)}`),
  el("td", {}, h.cases), el("td", {}, status(h)))));
  document.getElementById("handoffs-empty").hidden = result.data.length > 0;
}

function yesNoWord(value) {
  return value ? t("common.yes") : t("common.no");
}

/** What the visit found and did, and the death record in full: the attending physician carries on from it. */
function visitFacts(c) {
  const d = c.death;
  const rows = [
    [t("handoffs.physician"), c.visiting_physician_name],
    [t("handoffs.visit"), c.visit_arrived_at ? `${fmtTime(c.visit_arrived_at)} – ${fmtTime(c.visit_ended_at)}` : null],
    [t("outcome.findings"), c.findings],
    [t("outcome.treatment"), c.treatment],
    [t("handoffs.medication"), c.medication],
    ...(d ? [
      [t("death.noticed_at"), fmtTime(d.noticed_at)],
      [t("death.confirmed_at"), fmtTime(d.confirmed_at)],
      [t("handoffs.confirming_physician"), d.confirming_physician_name || "—"],
      [t("death.related"), yesNoWord(d.related_to_treated_disease)],
      [t("death.certificate_by"), label("certificate_by", d.certificate_by)],
      [t("death.police_informed"), yesNoWord(d.police_informed)],
      [t("handoffs.note"), d.note || "—"],
    ] : []),
  ].filter(([, v]) => v);
  return rows.length ? el("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])) : null;
}

async function open(id) {
  current = id;
  const result = await api("GET", `/api/v1/handoffs/${id}`);
  if (!result.ok) return toast(problemText(result), "error");
  const h = result.data;
  document.getElementById("handoff-detail").hidden = false;
  document.getElementById("handoff-title").replaceChildren(`${h.clinic_label} `, status(h));
  document.getElementById("handoff-items").replaceChildren(...h.items.map((c) => el("li", {},
    el("div", {}, urgencyBadge(c.urgency), " ", el("a", { href: `/cases/${c.id}` }, c.reference), " ",
      fmtTime(c.called_at), " ", stateBadge(c.state)),
    el("div", { class: "patient" }, c.patient_name ? `${c.patient_name}（${c.clinic_patient_number || "—"}）` : t("intake.unidentified")),
    el("div", {}, `${label("disposition", c.disposition)} · ${c.outcome ? label("outcome", c.outcome) : "—"}`,
      c.ended_because ? el("span", { class: "flag" }, label("ending", c.ended_because)) : null),
    el("div", { class: "muted" }, c.chief_complaint || ""),
    c.triage_note ? el("div", { class: "muted" }, c.triage_note) : null,
    visitFacts(c))));
  document.getElementById("acknowledge").hidden = !ACKNOWLEDGES || Boolean(h.acknowledged_at);
  await list();
}

/** Opened from the SMS that told the clinic of a death or an admission (?case=ID): the way to that case. */
function showNotice() {
  const id = Number(new URLSearchParams(location.search).get("case"));
  if (!Number.isInteger(id) || id < 1) return;
  const box = document.getElementById("handoff-notice");
  box.replaceChildren(`${t("handoffs.notice")}: `, el("a", { href: `/cases/${id}` }, `#K${id}`), ` — ${t("handoffs.notice_hint")}`);
  box.hidden = false;
}

/** The coordinator's 「申し送りを作成」: one clinic's report now, after a confirmation naming the clinic. */
async function setUpMaking() {
  const form = document.getElementById("make-handoff");
  if (!MAKES) return;
  await loadReference("clinics");
  const select = document.getElementById("make-clinic");
  select.replaceChildren(...[...reference.clinics.values()].map((c) => el("option", { value: c.id }, c.label)));
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const clinic = reference.clinics.get(Number(select.value));
    if (!clinic || !confirm(`${clinic.label}${t("handoffs.make_confirm")}`)) return;
    const button = document.getElementById("make-button");
    button.disabled = true;
    try {
      const result = await api("POST", "/api/v1/handoffs", { clinic_id: clinic.id });
      if (!result.ok) return toast(problemText(result), "error");
      toast(t(result.status === 201 ? "handoffs.made" : "handoffs.nothing_new"), "ok");
      await open(result.data.id);
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  showNotice();
  await list();
  await setUpMaking();
  const button = document.getElementById("acknowledge");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const result = await api("POST", `/api/v1/handoffs/${current}/acknowledge`);
      if (!result.ok) return toast(problemText(result), "error");
      await open(current);
    } finally {
      button.disabled = false;
    }
  });
});
