/* The month's roster made from the rotations: generate drafts, check them night by night, publish; one
   generated night can be given to another physician or taken off (a re-generate keeps that). The centre
   works on one area's month or every area's at once (the area picker). */
"use strict";

const KINDS = { weekly: t("roster.kind.weekly"), alternate_weeks: t("roster.kind.alternate_weeks"), weekly_turn: t("roster.kind.weekly_turn") };
const WEEKDAYS = t("roster.weekday_names").split(",");
let physicians = [];
let towns = new Map();
let townAreas = new Map(); // each town's area id, to offer the picked area's towns only
let shifts = [];

function chosenMonth() {
  return document.getElementById("month").value;
}

function thisMonth() {
  return localMinute(serverNow()).slice(0, 7);
}

function physicianName(id) {
  return (physicians.find((p) => p.id === id) || {}).name || `#${id}`;
}

function stateWords(s) {
  if (!s.generated) return el("span", { class: "flag" }, t("roster.s.manual"));
  const state = s.removed ? el("span", { class: "flag alert" }, t("roster.s.removed"))
    : s.published ? el("span", { class: "flag ok" }, t("roster.s.published")) : el("span", { class: "flag" }, t("roster.s.draft"));
  return s.overridden ? [state, el("span", { class: "flag" }, t("roster.s.overridden"))] : state;
}

async function override(shift, body, question) {
  if (!confirm(question)) return;
  const result = await api("PATCH", `/api/v1/roster/shifts/${shift.id}`, body);
  if (!result.ok) return toast(problemText(result), "error");
  toast(t("roster.changed"), "ok");
  await loadMonth();
}

function changeControls(s) {
  if (!s.generated || s.removed) return null;
  const select = el("select", { "aria-label": t("roster.physician") },
    ...physicians.map((p) => el("option", { value: p.id, selected: p.id === s.physician_id }, p.name)));
  const change = el("button", { type: "button", onclick: () => {
    const id = Number(select.value);
    if (id === s.physician_id) return;
    override(s, { physician_id: id }, t("roster.change_confirm").replace("{name}", physicianName(id)));
  } }, t("roster.change"));
  const remove = el("button", { type: "button", onclick: () => override(s, { removed: true }, t("roster.remove_confirm")) },
    t("roster.remove"));
  return el("span", { class: "actions" }, select, change, remove);
}

function windowWords(s) {
  return `${fmtTime(s.starts_at)} – ${fmtTime(s.ends_at)}`;
}

async function loadMonth() {
  const month = chosenMonth();
  if (!month) return;
  const result = await areaGet(`/api/v1/roster/months/${month}`);
  if (!result) return;
  if (!result.ok) return toast(problemText(result), "error");
  shifts = result.data;
  document.querySelector("#nights tbody").replaceChildren(...shifts.map((s) => el("tr", { class: s.removed ? "muted" : "" },
    el("th", {}, fmtDate(s.day)), el("td", {}, windowWords(s)), el("td", {}, s.physician_name),
    el("td", {}, s.coverage.join("、")), el("td", {}, stateWords(s)), el("td", {}, changeControls(s)))));
  document.getElementById("nights-empty").hidden = shifts.length > 0;
  const drafts = shifts.filter((s) => s.generated && !s.published && !s.removed).length;
  const live = shifts.filter((s) => s.generated && s.published).length;
  document.getElementById("summary").textContent = t("roster.summary").replace("{drafts}", drafts).replace("{live}", live);
  document.getElementById("publish").disabled = drafts === 0;
}

async function generate() {
  const month = chosenMonth();
  if (!month || !confirm(t("roster.generate_confirm").replace("{month}", inArea(month)))) return;
  const result = await api("POST", `/api/v1/roster/months/${month}/generate${areaParam()}`);
  if (!result.ok) return toast(problemText(result), "error");
  toast(t("roster.generated").replace("{created}", result.data.created).replace("{kept}", result.data.kept), "ok");
  await loadMonth();
}

async function publish() {
  const month = chosenMonth();
  const drafts = shifts.filter((s) => s.generated && !s.published && !s.removed).length;
  if (!month || !confirm(t("roster.publish_confirm").replace("{month}", inArea(month)).replace("{count}", drafts))) return;
  const result = await api("POST", `/api/v1/roster/months/${month}/publish${areaParam()}`);
  if (!result.ok) return toast(problemText(result), "error");
  toast(t("roster.published").replace("{count}", result.data.published), "ok");
  await loadMonth();
}

async function loadRotations() {
  const result = await areaGet("/api/v1/roster/rotations");
  if (!result) return;
  if (!result.ok) return toast(problemText(result), "error");
  document.querySelector("#rotations tbody").replaceChildren(...result.data.map((r) => el("tr", { class: r.active ? "" : "muted" },
    el("th", {}, r.name), el("td", {}, KINDS[r.kind] || r.kind), el("td", {}, r.weekdays.map((d) => WEEKDAYS[d]).join("・")),
    el("td", {}, r.physician_ids.map(physicianName).join(" → ")), el("td", {}, r.coverage.map((id) => towns.get(id) || id).join("、")),
    el("td", {}, fmtDate(r.starts_on)))));
  document.getElementById("rotations-empty").hidden = result.data.length > 0;
}

let turn = []; // the new rotation's physicians, in the order they were added

function showTurn() {
  document.getElementById("r-physicians").textContent = turn.length ? turn.map(physicianName).join(" → ") : t("roster.no_physician");
}

/** The towns a new rotation may cover: the picked area's (every area's when none is picked). */
function showTowns() {
  const area = chosenArea();
  const fieldset = document.getElementById("r-towns");
  fieldset.replaceChildren(fieldset.querySelector("legend"), ...[...towns]
    .filter(([id]) => !area || townAreas.get(id) === area.id)
    .map(([id, name]) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "town", value: id }), name)));
}

function rotationForm() {
  const form = document.getElementById("rotation-form");
  document.getElementById("r-weekdays").append(...WEEKDAYS.map((name, i) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", name: "weekday", value: i }), name)));
  showTowns();
  document.getElementById("r-physician").replaceChildren(...physicians.map((p) => el("option", { value: p.id }, p.name)));
  document.getElementById("r-starts-on").value = localMinute(serverNow()).slice(0, 10);
  document.getElementById("r-add-physician").addEventListener("click", () => {
    turn.push(Number(document.getElementById("r-physician").value));
    showTurn();
  });
  document.getElementById("r-clear-physicians").addEventListener("click", () => { turn = []; showTurn(); });
  showTurn();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => Number(i.value));
    const body = {
      name: document.getElementById("r-name").value, kind: document.getElementById("r-kind").value,
      weekdays: checked("weekday"), physician_ids: turn, coverage: checked("town"),
      starts_on: document.getElementById("r-starts-on").value,
    };
    const result = await api("POST", "/api/v1/roster/rotations", body);
    if (!result.ok) return toast(problemText(result), "error");
    toast(t("roster.rotation_added"), "ok");
    form.reset();
    document.getElementById("r-starts-on").value = localMinute(serverNow()).slice(0, 10);
    turn = [];
    showTurn();
    await loadRotations();
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  const [people, programme] = await Promise.all([api("GET", "/api/v1/roster/physicians"), api("GET", "/api/v1/programme")]);
  physicians = people.ok ? people.data : [];
  towns = new Map(programme.ok ? programme.data.municipalities.map((m) => [m.id, m.name]) : []);
  townAreas = new Map(programme.ok ? programme.data.municipalities.map((m) => [m.id, m.area_id]) : []);
  const month = document.getElementById("month");
  month.value = thisMonth();
  month.addEventListener("change", loadMonth);
  document.getElementById("generate").addEventListener("click", generate);
  document.getElementById("publish").addEventListener("click", publish);
  await areaReady;
  rotationForm();
  onAreaChange(() => Promise.all([loadMonth(), loadRotations(), showTowns()]));
  await Promise.all([loadMonth(), loadRotations()]);
});
