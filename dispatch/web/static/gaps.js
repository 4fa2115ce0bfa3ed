/* Coverage gaps: each of the coming nights with the towns short of a physician on call, and their hours (of
   the area picked, for those who may see more than one). */
"use strict";

async function showGaps() {
  const result = await areaGet("/api/v1/roster/gaps");
  if (!result) return;
  if (!result.ok) return toast(problemText(result), "error");
  const nights = new Map();
  for (const gap of result.data) {
    if (!nights.has(gap.night)) nights.set(gap.night, []);
    nights.get(gap.night).push(gap);
  }
  document.getElementById("gap-nights").replaceChildren(...[...nights].map(([night, gaps]) =>
    el("section", { class: "panel", dataset: { night } },
      el("h2", {}, t("gaps.night").replace("{date}", fmtNight(night))),
      el("table", { class: "gaps" },
        el("thead", {}, el("tr", {}, el("th", {}, t("gaps.town")), el("th", {}, t("gaps.hours")), el("th", {}, t("gaps.on_call")))),
        el("tbody", {}, ...gaps.map((g) => el("tr", {},
          el("td", {}, g.municipality), el("td", {}, gapHours(g)), el("td", {}, gapShortfall(g)))))))));
  document.getElementById("gaps-empty").hidden = nights.size > 0;
}

onAreaChange(showGaps);
onAreaChange(showGapAlert);
areaReady.then(showGaps);
