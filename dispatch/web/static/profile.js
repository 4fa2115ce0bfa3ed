/* The care profile (read audited by the server): diagnoses, ACP/DNAR wishes, devices, key person. */
"use strict";

function describe(value) {
  if (Array.isArray(value)) return value.length ? value.join("、") : t("common.none");
  if (value && typeof value === "object") {
    const parts = Object.entries(value).map(([key, inner]) => `${key}: ${describe(inner)}`);
    return parts.length ? parts.join(" / ") : t("common.none");
  }
  return value === null || value === undefined || value === "" ? "—" : String(value);
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
    ["", `${p.name}（${p.name_kana}） ${p.date_of_birth}`],
    ["DNAR", acp.dnar === true ? el("strong", { class: "flag alert" }, "DNAR") : acp.dnar === false ? t("profile.full_code") : "—"],
    [t("profile.address"), `${p.address}（${p.municipality}）`],
    [t("profile.diagnoses"), describe(p.diagnoses)],
    [t("profile.acp"), describe(Object.fromEntries(Object.entries(acp).filter(([k]) => k !== "dnar")))],
    [t("profile.devices"), describe(p.devices)],
    [t("profile.key_person"), key.name ? `${key.name}${key.relation ? `（${key.relation}）` : ""} ${key.phone || ""}`.trim() : describe(key)],
    [t("profile.enrolments"), p.enrolments.map((e) => `${e.clinic_label} ${e.clinic_patient_number}`).join("、")],
  ];
  body.replaceChildren(...rows.flatMap(([term, text]) => [el("dt", {}, term), el("dd", {}, text)]));
  container.hidden = false;
  return p;
}
