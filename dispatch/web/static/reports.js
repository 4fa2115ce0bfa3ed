/* The prefecture's table for a fiscal year, a monthly chart (drawn here, no outside library), downloads; for
   an area, a 保健所, a district medical association or the whole prefecture (広域連携). */
"use strict";

// The chosen unit as query parameters (e.g. "&area=inba"); empty: the reader's default.
let UNIT = "";

const SERIES = [
  ["consultations", "reports.consultations", "#5b8def"],
  ["house_calls", "reports.house_calls", "#f0a030"],
  ["end_of_life", "reports.end_of_life", "#c05be0"],
];

// The reasons a call is left out of the table, in the order the server checks them.
const EXCLUDED = ["out_of_hours", "unidentified", "out_of_contract", "open", "cancelled_before_decision", "no_outcome"];

function row(r, total, kind = "total") {
  const cells = [r.enrolled_patients, r.consultations ?? "—", r.house_calls, r.end_of_life,
    total ? "" : r.contract_start_reiwa || "—"];
  // The seed's 赤字: a clinic that started house calls through the programme, in red with a mark.
  const name = r.newly_started_house_calls
    ? el("th", { class: "newly-started", title: t("reports.newly_started_legend") }, r.clinic_label,
      el("span", { class: "mark" }, t("reports.newly_started_mark")))
    : el("th", {}, r.clinic_label);
  return el("tr", { class: total ? kind : "", dataset: { clinic: r.clinic_label } },
    name, cells.map((v) => el("td", {}, v)));
}

/** The unit's name as the console says it: 千葉県（全圏域）, 印旛（二次医療圏）, 香取海匝 海匝保健所. */
function unitName(unit) {
  if (unit.kind === "prefecture") return `${unit.name}${t("reports.unit_prefecture")}`;
  if (unit.kind === "area") return `${unit.name}${t("reports.unit_area")}`;
  if (unit.kind === "health_centre") return `${unit.area_name} ${unit.name}${t("reports.unit_health_centre")}`;
  return `${unit.area_name} ${unit.name}`;
}

/** The table's rows: one area's clinics, or each area's clinics under its name with its 小計. */
function tableRows(report) {
  if (report.unit.kind !== "prefecture" && report.areas.length < 2) return report.rows.map((r) => row(r, false));
  return report.areas.flatMap((section) => [
    el("tr", { class: "area-head", dataset: { area: section.area_code } },
      el("th", { colspan: 6, scope: "colgroup" }, section.area_name)),
    ...section.rows.map((r) => row(r, false)),
    row({ ...section.subtotal, clinic_label: `${section.area_name} ${t("reports.subtotal")}` }, true, "subtotal"),
  ]);
}

/** 広域連携: house calls received from and given to other areas (for the prefecture: each area's own). */
function crossArea(report) {
  const cross = report.cross_area;
  document.getElementById("cross-area-other").textContent =
    t(report.unit.kind === "prefecture" ? "reports.area" : "reports.cross_area_other");
  const lines = cross.by_area.map((line) => el("tr", { dataset: { area: line.area_code } },
    el("th", {}, line.area_name), el("td", {}, line.received), el("td", {}, line.given ?? "—")));
  if (!lines.length) lines.push(el("tr", {}, el("td", { colspan: 3, class: "meaning" }, t("reports.cross_area_none"))));
  document.querySelector("#cross-area tbody").replaceChildren(...lines);
  document.querySelector("#cross-area tfoot").replaceChildren(el("tr", { class: "total" },
    el("th", {}, t("reports.total")), el("td", { id: "cross-received" }, cross.received),
    el("td", { id: "cross-given" }, cross.given ?? "—")));
}

/** The unit picker: the prefecture, then each area with its 保健所 and their associations (what the reader may read). */
async function unitPicker() {
  const select = document.getElementById("unit");
  const index = await api("GET", "/api/v1/reports/units");
  if (!index.ok) {
    select.closest("label").hidden = true;
    return;
  }
  const options = [];
  if (index.data.prefecture) {
    options.push(el("option", { value: "scope=prefecture" }, `${index.data.prefecture}${t("reports.unit_prefecture")}`));
  }
  for (const area of index.data.areas) {
    const name = `${area.name}${t("reports.unit_area")}${area.programme ? "" : t("reports.unit_no_programme")}`;
    options.push(el("optgroup", { label: area.name },
      el("option", { value: `area=${area.code}`, disabled: !area.programme }, name),
      ...area.health_centres.flatMap((centre) => [
        el("option", { value: `health_centre=${centre.id}` }, `　${centre.name}${t("reports.unit_health_centre")}`),
        ...centre.associations.map((a) => el("option", { value: `association=${a.id}` }, `　　${a.name}`)),
      ])));
  }
  select.replaceChildren(...options);
  select.value = `area=${index.data.default.code}`;
  if (!select.value && select.options.length) select.selectedIndex = 0;
  UNIT = select.value ? `&${select.value}` : "";
  select.addEventListener("change", () => {
    UNIT = `&${select.value}`;
    show(Number(document.getElementById("fiscal-year").value));
  });
}

function excluded(report) {
  const lines = EXCLUDED.map((key) => el("tr", { dataset: { reason: key } },
    el("th", {}, t(`reports.excluded.${key}`)), el("td", {}, report.excluded[key]),
    el("td", { class: "meaning" }, t(`reports.excluded_meaning.${key}`))));
  if (report.consultations_not_counted) {
    lines.push(el("tr", { dataset: { reason: "consultations_not_counted" } },
      el("th", {}, t("reports.not_counted")), el("td", {}, report.consultations_not_counted),
      el("td", { class: "meaning" }, t("reports.not_counted_meaning"))));
  }
  document.querySelector("#excluded tbody").replaceChildren(...lines);
  document.querySelector("#excluded tfoot").replaceChildren(el("tr", { class: "total" },
    el("th", {}, t("reports.calls")), el("td", { id: "calls" }, report.calls), el("td", { class: "meaning" }, t("reports.calls_meaning"))));
}

function chart(months) {
  const width = 760, height = 260, left = 40, bottom = 40, top = 20;
  const max = Math.max(1, ...months.map((m) => SERIES.reduce((n, [k]) => Math.max(n, m.totals[k]), 0)));
  const slot = (width - left) / Math.max(1, months.length);
  const bar = Math.max(3, (slot - 8) / SERIES.length);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  // Its text alternative: a label saying what it shows, and the same figures in #monthly-table.
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("reports.chart_alt"));
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  add("line", { x1: left, y1: y(0), x2: width, y2: y(0), class: "axis" });
  add("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end", class: "tick" }, max);
  add("text", { x: left - 6, y: y(0) + 4, "text-anchor": "end", class: "tick" }, 0);
  months.forEach((m, i) => {
    const x0 = left + i * slot + 4;
    SERIES.forEach(([key, name, colour], j) => {
      const v = m.totals[key];
      const rect = add("rect", { x: x0 + j * bar, y: y(v), width: bar - 1, height: y(0) - y(v), fill: colour, "data-month": m.month, "data-series": key });
      const title = document.createElementNS(ns, "title");
      title.textContent = `${m.month} ${t(name)}: ${v}`;
      rect.append(title);
    });
    add("text", { x: x0 + slot / 2 - 4, y: height - bottom + 16, "text-anchor": "middle", class: "tick" }, m.month.slice(2));
  });
  SERIES.forEach(([, name, colour], j) => {
    add("rect", { x: left + j * 150, y: height - 14, width: 10, height: 10, fill: colour });
    add("text", { x: left + j * 150 + 14, y: height - 5, class: "tick" }, t(name));
  });
  return svg;
}

async function show(year) {
  const base = `/api/v1/reports/clinics?fiscal_year=${year}${UNIT}`;
  const monthly = `/api/v1/reports/monthly?from=${year}-04&to=${year + 1}-03${UNIT}`;
  document.getElementById("csv").href = `${base}&format=csv`;
  document.getElementById("xlsx").href = `${base}&format=xlsx`;
  document.getElementById("monthly-csv").href = `${monthly}&format=csv`;
  document.getElementById("monthly-xlsx").href = `${monthly}&format=xlsx`;
  const [clinics, months] = await Promise.all([api("GET", base), api("GET", monthly)]);
  if (!clinics.ok) return toast(problemText(clinics), "error");
  document.getElementById("report-label").textContent = `${clinics.data.label} ${unitName(clinics.data.unit)}`;
  document.querySelector("#clinic-report tbody").replaceChildren(...tableRows(clinics.data));
  document.querySelector("#clinic-report tfoot").replaceChildren(row({ ...clinics.data.total, clinic_label: t("reports.total") }, true));
  excluded(clinics.data);
  crossArea(clinics.data);
  document.getElementById("newly-started-legend").hidden = !clinics.data.rows.some((r) => r.newly_started_house_calls);
  if (!months.ok) return;
  document.getElementById("monthly-chart").replaceChildren(chart(months.data.months));
  document.querySelector("#monthly-table tbody").replaceChildren(...months.data.months.map((m) =>
    el("tr", { dataset: { month: m.month } }, el("th", { scope: "row" }, m.month), SERIES.map(([k]) => el("td", {}, m.totals[k])))));
}

document.addEventListener("DOMContentLoaded", async () => {
  await unitPicker();
  // Every year from the programme's start to today, newest first; the current one (by the server's clock) chosen.
  const programme = await api("GET", "/api/v1/programme");
  const select = document.getElementById("fiscal-year");
  const years = programme.ok ? [...programme.data.reportable_years].reverse() : [];
  select.replaceChildren(...years.map((f) => el("option", { value: f.year }, `${f.label}（${f.year}）`)));
  const current = years.find((f) => f.current);
  const pick = (current || years[0] || { year: programme.ok ? programme.data.current_fiscal_year : 2024 }).year;
  select.value = String(pick);
  select.addEventListener("change", () => show(Number(select.value)));
  await show(pick);
});
