/* Monthly submissions: each month's status, the coordinator's 「提出」, and the submitted figures with what
   changed since (提出時 → 現在), drawn from whatever numbers the report holds. */
"use strict";

const SUBMITS = ["coordinator", "admin"].includes(BOOT.user.role);
let chosen = null;
const WHEN = new Intl.DateTimeFormat(LOCALE, {
  timeZone: BOOT.timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
});

/** 2026/11/03 09:12 in Tokyo: a submission's date needs its year. */
function when(iso) {
  return WHEN.format(new Date(iso));
}

/** A report key in words (a field the table does not know keeps its own name). */
function word(key) {
  return BOOT.messages[`submissions.f.${key}`] ?? key;
}

function num(v) {
  return v === null || v === undefined ? "—" : String(v);
}

/** Months that have ended, newest first: the last twelve in Tokyo, and any submitted before them. */
function endedMonths(submitted) {
  const now = new Date(serverNow() + 9 * 3600e3); // Tokyo's calendar (UTC+9, no summer time)
  const months = new Set(submitted);
  for (let back = 1; back <= 12; back++) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    months.add(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return [...months].sort().reverse();
}

function statusOf(s) {
  if (!s) return el("span", { class: "flag" }, t("submissions.not_submitted"));
  const done = el("span", { class: "flag ok" },
    `${t("submissions.submitted")} ${t("submissions.version").replace("{version}", s.version)} ${when(s.submitted_at)} ${s.submitted_by}`);
  return s.changed_since ? [done, el("span", { class: "flag alert" }, t("submissions.changed"))] : done;
}

async function list() {
  const result = await areaGet("/api/v1/submissions");
  if (!result) return;
  if (!result.ok) return toast(problemText(result), "error");
  const latest = new Map(result.data.filter((s) => s.latest).map((s) => [s.month, s]));
  const months = SUBMITS ? endedMonths([...latest.keys()]) : [...latest.keys()];
  document.querySelector("#months tbody").replaceChildren(...months.map((m) => {
    const s = latest.get(m);
    const button = SUBMITS ? el("button", { type: "button", class: s ? "" : "primary", onclick: (e) => { e.stopPropagation(); submit(m); } },
      t(s ? "submissions.resubmit" : "submissions.submit")) : null;
    // A submitted month opens with its own button (a row holding the 再提出 button cannot be one itself).
    const name = s ? el("button", { type: "button", class: "link", onclick: (e) => { e.stopPropagation(); open(m); } }, m) : m;
    return el("tr", { class: chosen === m ? "chosen" : "", dataset: s ? { month: m, submitted: "1" } : { month: m }, onclick: () => s && open(m) },
      el("th", {}, name), el("td", {}, statusOf(s)), el("td", {}, button));
  }));
  document.getElementById("months-empty").hidden = months.length > 0;
}

async function submit(month) {
  if (!confirm(t("submissions.confirm").replace("{month}", inArea(month)))) return;
  const note = document.getElementById("note").value.trim();
  const result = await api("POST", `/api/v1/submissions${areaParam()}`, { month, note: note || null });
  if (!result.ok) return toast(problemText(result), "error");
  document.getElementById("note").value = "";
  toast(t("submissions.done").replace("{month}", inArea(month)).replace("{version}", result.data.version), "ok");
  await open(month);
}

/** One cell: the submitted number, or 提出時 → 現在 highlighted where it changed. */
function cell(changes, path, submitted) {
  const d = changes.get(path);
  if (!d) return el("td", {}, num(submitted));
  return el("td", { class: "changed-cell" }, el("mark", { class: "changed", title: t("submissions.legend") },
    `${num(d.submitted)} → ${num(d.now)}`));
}

const isRows = (v) => v && typeof v === "object" && Object.values(v).some((x) => x && typeof x === "object");

/** The figures as tables, section by section, whatever fields the report holds (submitted ∪ now). */
function figures(detail, changes) {
  const out = [], single = [];
  // The report's own order (the stored copy's keys come back sorted by the database).
  const keys = [...new Set([...Object.keys(detail.now), ...Object.keys(detail.submitted)])];
  for (const key of keys) {
    const before = detail.submitted[key], after = detail.now[key];
    const value = before ?? after;
    if (typeof value === "string") continue;
    if (value === null || typeof value === "number") { single.push(key); continue; }
    const rows = isRows(value) || isRows(after)
      ? [...new Set([...Object.keys(after || {}), ...Object.keys(before || {})])].map((name) => [name, (before || {})[name] || {}, `${key}.${name}`, (after || {})[name] || {}])
      : [[null, before || {}, key, after || {}]];
    const fields = [...new Set(rows.flatMap(([, b, , a]) => [...Object.keys(a), ...Object.keys(b)]))];
    if (!fields.length) continue;
    out.push(el("h3", {}, word(key)), el("table", { class: "report", dataset: { section: key } },
      el("thead", {}, el("tr", {}, el("th", {}, ""), fields.map((f) => el("th", {}, word(f))))),
      el("tbody", {}, rows.map(([name, b, prefix]) => el("tr", { dataset: { name: name ?? "" } },
        el("th", {}, name ?? word(key)), fields.map((f) => cell(changes, `${prefix}.${f}`, b[f])))))));
  }
  if (single.length) {
    out.push(el("h3", {}, word("other")), el("table", { class: "report", dataset: { section: "other" } },
      el("tbody", {}, single.map((key) => el("tr", {}, el("th", {}, word(key)), cell(changes, key, detail.submitted[key]))))));
  }
  return out;
}

async function open(month) {
  chosen = month;
  const result = await areaGet(`/api/v1/submissions/${month}`);
  if (!result) return;
  if (!result.ok) return toast(problemText(result), "error");
  const d = result.data;
  const changes = new Map(d.differences.map((x) => [x.path, x]));
  document.getElementById("submission").hidden = false;
  document.getElementById("submission-title").replaceChildren(`${d.month} `, ...[statusOf(d)].flat());
  document.getElementById("submission-meta").textContent =
    `${t("submissions.by")}: ${d.submitted_by} · ${when(d.submitted_at)}${d.note ? ` · ${d.note}` : ""}`;
  document.getElementById("submission-changes").replaceChildren(d.differences.length
    ? el("span", { class: "flag alert" }, t("submissions.changes").replace("{count}", d.differences.length))
    : el("span", { class: "muted" }, t("submissions.no_changes")));
  document.getElementById("submission-csv").href = `/api/v1/submissions/${month}.csv${areaParam()}`;
  document.getElementById("submission-figures").replaceChildren(...figures(d, changes));
  document.getElementById("submission-versions").replaceChildren(...d.versions.map((v) => el("li", {},
    `${t("submissions.version").replace("{version}", v.version)} ${when(v.submitted_at)} ${v.submitted_by}`,
    v.note ? ` — ${v.note}` : "")));
  await list();
}

/** The list, and the newest submitted month opened (after the page opens, and after another area is picked). */
async function showArea() {
  chosen = null;
  document.getElementById("submission").hidden = true;
  await list();
  const first = document.querySelector("#months tbody tr[data-submitted]");
  if (first) await open(first.dataset.month);
}

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("note-label").hidden = !SUBMITS;
  onAreaChange(showArea);
  await areaReady;
  await showArea();
});
