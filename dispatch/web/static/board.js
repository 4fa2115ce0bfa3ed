/* The board: every open case in a column by state, waiting times ticking, changes arriving live. */
"use strict";

const COLUMN_OF = {
  received: "intake", triage_pending: "intake", triaging: "intake",
  dispatching: "dispatch", offered: "dispatch", unfilled: "dispatch",
  accepted: "visit", en_route: "visit", on_scene: "visit",
  visit_completed: "after", handed_off: "after",
};
const URGENCY_ORDER = { red: 0, orange: 1, yellow: 2, green: 3, white: 4 };
let changed = new Set();
let seq = 0; // a slower, older answer must not paint over a newer one
const LIMIT = 500;

function card(item) {
  const urgency = item.urgency || item.provisional_urgency;
  const waited = minutesSince(item.called_at);
  const flags = [
    item.alarm ? el("span", { class: "flag alert" }, t("common.alerted")) : null,
    item.in_service_hours ? null : el("span", { class: "flag" }, t("common.out_of_hours")),
    item.in_contract ? null : el("span", { class: "flag" }, t("common.out_of_contract")),
  ];
  return el("li", {
    class: `card ${item.alarm ? "escalated" : ""} ${changed.has(item.id) ? "changed" : ""}`,
    dataset: { caseId: item.id, state: item.state },
  },
  el("a", { href: `/cases/${item.id}`, class: "card-link" },
    el("div", { class: "card-head" }, urgencyBadge(urgency), el("strong", {}, item.reference), stateBadge(item.state)),
    el("div", { class: "card-body" },
      el("span", { class: `wait ${waited >= 60 ? "late" : waited >= 30 ? "slow" : ""}`, dataset: { since: item.called_at } },
        `${t("common.waiting")} ${fmtMinutes(waited)}`),
      el("span", { class: "area" }, nameOf("areas", item.programme_id)),
      el("span", {}, nameOf("municipalities", item.municipality_id)),
      item.assigned_physician_id ? el("span", {}, nameOf("physicians", item.assigned_physician_id)) : null,
    ),
    el("div", { class: "flags" }, flags)));
}

// A chime for a coordinator alert or an unfilled case, when asked for (browsers play sound only after a click).
let audio = null;
function chime() {
  if (!document.getElementById("chime").checked) return;
  audio = audio || new AudioContext();
  const now = audio.currentTime;
  [880, 660].forEach((freq, i) => {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = freq;
    gain.gain.setValueAtTime(0.2, now + i * 0.25);
    gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.25 + 0.22);
    tone.connect(gain).connect(audio.destination);
    tone.start(now + i * 0.25);
    tone.stop(now + i * 0.25 + 0.23);
  });
}

/** Live alarms at a glance (a case the coordinator was alerted about that still waits for a physician: the
    API's `alarm`): a banner on the page, and ⚠ with their count in the tab's title for a board in the background. */
function showEscalations(open) {
  const escalated = open.filter((item) => item.alarm);
  const banner = document.getElementById("escalations");
  banner.hidden = escalated.length === 0;
  banner.textContent = escalated.length ? `${t("board.escalated")}: ${escalated.map((i) => i.reference).join("、")}` : "";
  titleWithAlarms(escalated.length, `${t("board.title")} (${open.length}) — ${t("app.title")}`);
  // The toast that announced an alarm goes with it: a case that got its physician is no longer news.
  if (alarmToast && !escalated.some((item) => item.reference === alarmToast)) {
    const box = document.getElementById("toast");
    if (box.textContent.endsWith(alarmToast)) box.hidden = true;
    alarmToast = null;
  }
}
let alarmToast = null; // the reference of the case whose alarm the toast shows

async function refresh() {
  const mine = ++seq;
  const result = await api("GET", `/api/v1/cases?open_only=true&limit=${LIMIT}${areaQuery()}`);
  if (mine !== seq) return;
  if (!result.ok) return toast(problemText(result), "error");
  if (result.data.length >= LIMIT) toast(t("board.truncated"), "error");
  const open = result.data.filter((item) => COLUMN_OF[item.state]);
  open.sort((a, b) => (URGENCY_ORDER[a.urgency || a.provisional_urgency] ?? 2) - (URGENCY_ORDER[b.urgency || b.provisional_urgency] ?? 2)
    || Date.parse(a.called_at) - Date.parse(b.called_at));
  for (const column of document.querySelectorAll("[data-column]")) {
    const list = column.querySelector(".cards");
    list.replaceChildren(...open.filter((item) => COLUMN_OF[item.state] === column.dataset.column).map(card));
  }
  document.getElementById("board-count").textContent = `(${open.length})`;
  showEscalations(open);
  showHeld();
  showCallbacks();
  document.getElementById("board-empty").hidden = open.length > 0;
  changed = new Set();
}

/** The operator's tasks: a case waiting for a physician too long, its family to be called back (issue 17). */
async function showCallbacks() {
  const panel = document.getElementById("family-callbacks");
  const result = await api("GET", "/api/v1/family/callbacks");
  if (!result.ok) return; // a role the tasks are not for
  panel.hidden = result.data.length === 0;
  panel.querySelector(".tasks").replaceChildren(...result.data.map((task) => el("li", { dataset: { caseId: task.case_id } },
    `${t("family.callback")}: `, el("a", { href: `/cases/${task.case_id}` }, task.reference),
    ` ${t("common.waiting")} ${fmtMinutes(task.waiting_min)} `,
    el("button", { type: "button", class: "callback-done", onclick: (event) => calledBack(event, task) }, t("family.called_back")))));
}

async function calledBack(event, task) {
  event.target.disabled = true;
  const result = await api("POST", `/api/v1/cases/${task.case_id}/family-callback`, {});
  if (!result.ok && result.status !== 409) {
    event.target.disabled = false;
    return toast(problemText(result), "error");
  }
  toast(`${t("family.called_back_done")}: ${task.reference}`, "ok");
  showCallbacks();
}

function tickWaiting() {
  for (const node of document.querySelectorAll(".wait[data-since]")) {
    const waited = minutesSince(node.dataset.since);
    node.textContent = `${t("common.waiting")} ${fmtMinutes(waited)}`;
    node.classList.toggle("late", waited >= 60);
    node.classList.toggle("slow", waited >= 30 && waited < 60);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  await loadReference("municipalities", "physicians", "areas");
  areaFilter(refresh);
  await refresh();
  const later = debounce(refresh, 150);
  document.getElementById("chime").checked = localStorage.getItem("chime") === "on";
  document.getElementById("chime").addEventListener("change", (event) => {
    localStorage.setItem("chime", event.target.checked ? "on" : "off");
  });
  liveEvents((event) => {
    if (!inChosenArea(event)) return;
    changed.add(event.case_id);
    if (event.kind === "alert.coordinator" || event.to_state === "unfilled") {
      chime();
      toast(`${t("board.escalated")}: ${event.reference}`, "error");
      alarmToast = event.reference;
    } else if (event.kind === "alert.sms_cap") {
      chime();
      toast(`${t("sms_cap.banner")}: ${event.reference}`, "error");
    }
    later();
  }, later);
  setInterval(tickWaiting, 15000);
  setInterval(showCallbacks, 30000); // a case crosses the call-back threshold with no event to say so
  setInterval(showHeld, 30000); // held messages leave as the hour moves on, with no case event to say so
});
