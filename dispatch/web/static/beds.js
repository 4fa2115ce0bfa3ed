/* Tonight's backup beds (今夜の後方支援病床): a compact list for the consulting physician; the coordinator
   marks each hospital's free beds from the dispatch page. Shared by the triage and dispatch pages. */
"use strict";

const MARKS_BEDS = ["coordinator", "admin"].includes(BOOT.user.role);

function bedsFree(row) {
  if (row.free === null) return el("span", { class: "flag alert" }, t("beds.unconfirmed"));
  return el("strong", { class: row.free > 0 ? "beds-free" : "beds-none" }, `${row.free} / ${row.backup_beds}`);
}

function bedsControls(row, onDone) {
  const free = el("input", { name: "free", type: "number", min: 0, max: row.backup_beds, value: row.free ?? "",
    required: true, "aria-label": `${row.name} ${t("beds.free")}` });
  const note = el("input", { name: "note", maxlength: 200, value: row.note || "", placeholder: t("beds.note"),
    "aria-label": `${row.name} ${t("beds.note")}` });
  const form = el("form", { class: "beds-mark", method: "post", novalidate: true, dataset: { hospitalId: row.id } },
    free, note, el("button", { type: "submit" }, t("common.save")), el("p", { class: "form-error", role: "alert", hidden: true }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    const body = { free: free.value === "" ? null : Number(free.value), note: note.value || null };
    const result = await api("PUT", `/api/v1/hospitals/${row.id}/beds/tonight`, body)
      .finally(() => { button.disabled = false; });
    if (!result.ok) return showFieldErrors(form, result);
    toast(`${row.name}: ${t("beds.saved")}`, "ok");
    await onDone();
  });
  return form;
}

/** Fill `container` with tonight's list; with `editable`, a coordinator's controls on each row. */
async function showBeds(container, editable) {
  const result = await api("GET", "/api/v1/hospitals/tonight");
  if (!result.ok) return container.replaceChildren(el("p", { class: "muted" }, problemText(result)));
  if (!result.data.length) return container.replaceChildren(el("p", { class: "empty" }, t("beds.none")));
  const again = () => showBeds(container, editable);
  const marking = editable && MARKS_BEDS;
  container.replaceChildren(el("table", { class: "beds" },
    el("thead", {}, el("tr", {},
      el("th", {}, t("beds.hospital")), el("th", {}, t("beds.free")), el("th", {}, t("beds.updated")),
      marking ? el("th", {}, "") : null)),
    el("tbody", {}, result.data.map((row) => el("tr", { dataset: { hospitalId: row.id } },
      el("td", {}, row.name, row.backup_support ? el("span", { class: "flag" }, t("beds.support")) : null,
        el("div", { class: "muted" }, `${nameOf("municipalities", row.municipality_id)} ${fmtPhone(row.night_phone)}`)),
      el("td", {}, bedsFree(row), row.note ? el("div", { class: "muted" }, row.note) : null),
      el("td", {}, row.updated_at ? fmtTime(row.updated_at) : "—"),
      marking ? el("td", {}, bedsControls(row, again)) : null)))));
}

document.addEventListener("DOMContentLoaded", async () => {
  const container = document.getElementById("beds");
  if (!container) return;
  await loadReference("municipalities");
  await showBeds(container, container.dataset.editable === "true");
  // A physician's page stays open all night: the marks are read again every minute.
  setInterval(() => {
    if (!container.contains(document.activeElement)) showBeds(container, container.dataset.editable === "true");
  }, 60000);
});
