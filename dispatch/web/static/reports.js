/* The prefecture's table for a fiscal year, a monthly chart (drawn here, no outside library), downloads. */
"use strict";

const SERIES = [
  ["consultations", "reports.consultations", "#5b8def"],
  ["house_calls", "reports.house_calls", "#f0a030"],
  ["end_of_life", "reports.end_of_life", "#c05be0"],
];

function row(r, total) {
  const cells = [r.clinic_label, r.enrolled_patients, r.consultations ?? "—", r.house_calls, r.end_of_life,
    total ? "" : r.contract_start_reiwa || "—"];
  return el("tr", { class: total ? "total" : "", dataset: { clinic: r.clinic_label } },
    cells.map((v, i) => el(i === 0 ? "th" : "td", {}, v)));
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
  const base = `/api/v1/reports/clinics?fiscal_year=${year}`;
  const monthly = `/api/v1/reports/monthly?from=${year}-04&to=${year + 1}-03`;
  document.getElementById("csv").href = `${base}&format=csv`;
  document.getElementById("xlsx").href = `${base}&format=xlsx`;
  document.getElementById("monthly-csv").href = `${monthly}&format=csv`;
  document.getElementById("monthly-xlsx").href = `${monthly}&format=xlsx`;
  const [clinics, months] = await Promise.all([api("GET", base), api("GET", monthly)]);
  if (!clinics.ok) return toast(problemText(clinics), "error");
  document.getElementById("report-label").textContent = clinics.data.label;
  document.querySelector("#clinic-report tbody").replaceChildren(...clinics.data.rows.map((r) => row(r, false)));
  document.querySelector("#clinic-report tfoot").replaceChildren(row({ ...clinics.data.total, clinic_label: t("reports.total") }, true));
  if (months.ok) document.getElementById("monthly-chart").replaceChildren(chart(months.data.months));
}

document.addEventListener("DOMContentLoaded", async () => {
  const programme = await api("GET", "/api/v1/programme");
  const select = document.getElementById("fiscal-year");
  const years = programme.ok ? programme.data.fiscal_years.map((f) => f) : [];
  select.replaceChildren(...years.map((f) => el("option", { value: f.year }, `${f.label}（${f.year}）`)));
  const now = new Date(serverNow() + 9 * 3600e3); // Tokyo's calendar (UTC+9, no summer time)
  const current = now.getUTCMonth() >= 3 ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
  const pick = years.some((f) => f.year === current) ? current : (years.at(-1) || { year: current }).year;
  select.value = String(pick);
  select.addEventListener("change", () => show(Number(select.value)));
  await show(pick);
});
