/* Tonight's coverage-gap alert (the afternoon job's), on the pages that include it, while a gap remains. */
"use strict";

const NIGHT_FORMAT = new Intl.DateTimeFormat(LOCALE, { month: "long", day: "numeric", weekday: "short", timeZone: "UTC" });

/** The night's date ("2025-01-15") in words: 1月15日(水). */
function fmtNight(night) {
  return NIGHT_FORMAT.format(new Date(`${night}T00:00:00Z`));
}

/** A gap's hours as the coordinator reads them: 18:00–08:00, with the dates when it runs a day or more. */
function gapHours(gap) {
  const long = Date.parse(gap.end) - Date.parse(gap.start) >= 24 * 3600 * 1000;
  const at = (iso) => (long ? fmtTime(iso) : localMinute(Date.parse(iso)).slice(11));
  return `${at(gap.start)}–${at(gap.end)}`;
}

/** 当番不在, or 当番1名（必要2名）. */
function gapShortfall(gap) {
  if (gap.on_call === 0) return t("gaps.nobody");
  return t("gaps.short").replace("{n}", gap.on_call).replace("{m}", gap.minimum);
}

async function showGapAlert() {
  const banner = document.getElementById("coverage-gap");
  if (!banner) return;
  // On a page with the area picker (the gaps page), the picked area's alert only.
  const area = typeof areaReady === "undefined" ? "" : await areaReady.then(() => areaParam());
  const result = await api("GET", `/api/v1/roster/gap-alerts${area}`);
  if (!result.ok) return;
  const gaps = result.data.flatMap((alert) => alert.gaps);
  banner.hidden = gaps.length === 0;
  banner.textContent = gaps.length
    ? `${t("gaps.banner")}: ${gaps.map((g) => `${g.municipality} ${gapHours(g)} ${gapShortfall(g)}`).join("、")}`
    : "";
}

document.addEventListener("DOMContentLoaded", () => {
  showGapAlert();
  setInterval(showGapAlert, 60000); // a shift added elsewhere fills the gap with no case event to say so
});
