/* Cases being offered: every offer, the replies, deadlines counting down; the coordinator reassigns by hand. */
"use strict";

const SHOWN = ["unfilled", "dispatching", "offered", "accepted", "en_route"];
const ORDER = Object.fromEntries(SHOWN.map((s, i) => [s, i]));
let seq = 0;

/** What the coordinator has chosen or typed in each case's hand controls, to put back after a redraw. */
function handState() {
  const state = new Map();
  for (const form of document.querySelectorAll("form.hand")) {
    state.set(form.dataset.caseId, {
      physician: form.elements.physician_id.value,
      reason: form.elements.reason.value,
      focus: form.contains(document.activeElement) ? document.activeElement.name : null,
    });
  }
  return state;
}

function restore(state) {
  for (const form of document.querySelectorAll("form.hand")) {
    const kept = state.get(form.dataset.caseId);
    if (!kept) continue;
    form.elements.physician_id.value = kept.physician;
    form.elements.reason.value = kept.reason;
    if (kept.focus && form.elements[kept.focus]) form.elements[kept.focus].focus();
  }
}

async function refresh() {
  const mine = ++seq;
  const query = SHOWN.map((s) => `state=${s}`).join("&");
  const cases = await api("GET", `/api/v1/cases?${query}&limit=200${areaQuery()}`);
  if (!cases.ok) return toast(problemText(cases), "error");
  const items = cases.data.sort((a, b) => ORDER[a.state] - ORDER[b.state] || Date.parse(a.called_at) - Date.parse(b.called_at));
  const [offers, picks] = await Promise.all([
    Promise.all(items.map((c) => api("GET", `/api/v1/cases/${c.id}/offers`))),
    Promise.all(items.map((c) => loadCandidates(c.id))),
  ]);
  if (mine !== seq) return; // a newer refresh is on its way
  const kept = handState();
  const list = document.getElementById("dispatch-list");
  list.replaceChildren(...items.map((c, i) => el("article", {
    class: `panel dispatch-case ${c.alarm ? "escalated" : ""}`, dataset: { caseId: c.id, state: c.state },
  },
  el("h2", {}, urgencyBadge(c.urgency), " ", el("a", { href: `/cases/${c.id}` }, c.reference), " ", stateBadge(c.state),
    el("span", { class: "wait", dataset: { since: c.called_at } }, ` ${t("common.waiting")} ${fmtMinutes(minutesSince(c.called_at))}`),
    c.alarm ? el("span", { class: "flag alert" }, t("common.alerted")) : null),
  el("p", { class: "muted" }, `${nameOf("areas", c.programme_id)} · ${nameOf("municipalities", c.municipality_id)} · ${label("disposition", c.disposition)}`),
  stopNote(picks[i]),
  offersTable(offers[i].ok ? offers[i].data : []),
  pickerTable(picks[i]),
  handControls(c.id, refresh, c.assigned_physician_id, picks[i]))));
  restore(kept);
  titleWithAlarms(items.filter((c) => c.alarm).length);
  document.getElementById("dispatch-empty").hidden = items.length > 0;
}

document.addEventListener("DOMContentLoaded", async () => {
  await loadReference("municipalities", "physicians", "areas");
  areaFilter(refresh);
  await refresh();
  const later = debounce(refresh, 200);
  liveEvents((event) => { if (inChosenArea(event)) later(); }, later);
});
