/* Cases being offered: every offer, the replies, deadlines counting down; the coordinator reassigns by hand. */
"use strict";

const SHOWN = ["unfilled", "dispatching", "offered", "accepted", "en_route"];
const ORDER = Object.fromEntries(SHOWN.map((s, i) => [s, i]));

async function refresh() {
  const query = SHOWN.map((s) => `state=${s}`).join("&");
  const [cases] = await Promise.all([api("GET", `/api/v1/cases?${query}&limit=200`), loadOnCall()]);
  if (!cases.ok) return toast(problemText(cases), "error");
  const items = cases.data.sort((a, b) => ORDER[a.state] - ORDER[b.state] || Date.parse(a.called_at) - Date.parse(b.called_at));
  const offers = await Promise.all(items.map((c) => api("GET", `/api/v1/cases/${c.id}/offers`)));
  const list = document.getElementById("dispatch-list");
  list.replaceChildren(...items.map((c, i) => el("article", {
    class: `panel dispatch-case ${c.state === "unfilled" ? "escalated" : ""}`, dataset: { caseId: c.id, state: c.state },
  },
  el("h2", {}, urgencyBadge(c.urgency), " ", el("a", { href: `/cases/${c.id}` }, c.reference), " ", stateBadge(c.state),
    el("span", { class: "wait", dataset: { since: c.called_at } }, ` ${t("common.waiting")} ${fmtMinutes(minutesSince(c.called_at))}`),
    c.coordinator_alerted_at ? el("span", { class: "flag alert" }, t("common.alerted")) : null),
  el("p", { class: "muted" }, `${nameOf("municipalities", c.municipality_id)} · ${label("disposition", c.disposition)}`),
  offersTable(offers[i].ok ? offers[i].data : []),
  ["unfilled", "dispatching", "offered", "accepted", "en_route"].includes(c.state) ? handControls(c.id, refresh) : null)));
  document.getElementById("dispatch-empty").hidden = items.length > 0;
}

document.addEventListener("DOMContentLoaded", async () => {
  await loadReference("municipalities", "physicians");
  await refresh();
  liveEvents(debounce(refresh, 200));
});
