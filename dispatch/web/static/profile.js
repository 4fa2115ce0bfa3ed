/* The care profile (read audited by the server): diagnoses, ACP/DNAR wishes, devices, key person. */
"use strict";

function describe(value) {
  return valueWords(value);
}

/** A profile's object (ACP wishes, the key person) one line per entry, each under its Japanese label. */
function entries(value, group) {
  const rows = Object.entries(value || {}).filter(([, inner]) => inner !== null && inner !== undefined && inner !== "");
  return rows.length ? el("div", {}, ...rows.map(([key, inner]) => el("div", {}, `${label(group, key)}：${valueWords(inner)}`)))
    : t("common.none");
}

async function showProfile(patientId, container, body) {
  const result = await api("GET", `/api/v1/patients/${patientId}`);
  if (!result.ok) {
    container.hidden = true;
    return null;
  }
  const p = result.data;
  const acp = p.acp || {};
  const key = p.key_person || {};
  const rows = [
    ["", `${p.name}（${p.name_kana}） ${label("sex", p.sex)} ${fmtBirthDate(p.date_of_birth)}`],
    ["DNAR", acp.dnar === true ? el("strong", { class: "flag alert" }, "DNAR") : acp.dnar === false ? t("profile.full_code") : "—"],
    [t("profile.address"), `${p.address}（${p.municipality}）`],
    [t("profile.diagnoses"), describe(p.diagnoses)],
    [t("profile.acp"), entries(Object.fromEntries(Object.entries(acp).filter(([k]) => k !== "dnar")), "acp")],
    [t("profile.devices"), describe(p.devices)],
    [t("profile.key_person"), key.name && Object.keys(key).every((k) => ["name", "relation", "phone"].includes(k))
      ? `${key.name}${key.relation ? `（${key.relation}）` : ""} ${key.phone ? valueWords(key.phone) : ""}`.trim()
      : entries(key, "key_person")],
    [t("profile.enrolments"), el("div", {}, ...p.enrolments.map((e) => enrolmentLine(p, e, () => showProfile(patientId, container, body))))],
  ];
  body.replaceChildren(...rows.flatMap(([term, text]) => [el("dt", {}, term), el("dd", {}, text)]));
  container.hidden = false;
  return p;
}

/** 「契約終了（死亡 2025-02-10）」, or nothing for an enrolment still running. */
function endingText(reason, endedOn) {
  return endedOn ? `${t("enrolment.ended")}（${label("end_reason", reason)} ${endedOn}）` : "";
}

const ENDS_ENROLMENTS = ["coordinator", "clinic_admin", "admin"].includes(BOOT.user.role);

/** One enrolment: the clinic and chart number, its ending if any, and (for those who may) end / reopen. */
function enrolmentLine(p, e, reload) {
  const line = el("div", { class: "enrolment", dataset: { enrolmentId: e.id } }, `${e.clinic_label} ${e.clinic_patient_number} `);
  if (e.ended_on) {
    line.append(el("strong", { class: "flag" }, endingText(e.end_reason, e.ended_on)));
    if (e.ended_by_case_id) line.append(" ", el("a", { href: `/cases/${e.ended_by_case_id}` }, `${t("enrolment.by_case")} #K${e.ended_by_case_id}`));
  }
  if (!ENDS_ENROLMENTS || e.ended_by_case_id) return line;
  const path = `/api/v1/patients/${p.id}/enrolments/${e.id}`;
  const form = e.ended_on
    ? el("form", { class: "inline enrolment-form", method: "post", novalidate: true },
      el("label", {}, t("enrolment.reopen_reason"), el("input", { name: "reason", maxlength: "500", required: true })),
      el("p", { class: "form-error", role: "alert", hidden: true }),
      el("button", { type: "submit" }, t("enrolment.reopen")))
    : el("form", { class: "inline enrolment-form", method: "post", novalidate: true },
      el("label", {}, t("enrolment.ended_on"), el("input", { name: "ended_on", type: "date", required: true })),
      el("label", {}, t("enrolment.end_reason"), el("select", { name: "reason", required: true },
        el("option", { value: "" }, ""),
        ...Object.entries(BOOT.labels.end_reason || {}).map(([value, text]) => el("option", { value }, text)))),
      el("label", {}, t("enrolment.note"), el("input", { name: "note", maxlength: "500" })),
      el("p", { class: "form-error", role: "alert", hidden: true }),
      el("button", { type: "submit", class: "danger" }, t("enrolment.end")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    if (!e.ended_on && !confirm(t("enrolment.end_confirm"))) return;
    const button = form.querySelector("button");
    button.disabled = true;
    const result = e.ended_on
      ? await api("POST", `${path}/reopen`, { reason: v.reason }).finally(() => { button.disabled = false; })
      : await api("POST", `${path}/end`, { ended_on: v.ended_on || null, reason: v.reason || null, note: v.note || null })
        .finally(() => { button.disabled = false; });
    if (!result.ok) return showFieldErrors(form, result);
    toast(t("enrolment.saved"), "ok");
    await reload();
  });
  line.append(form);
  return line;
}
