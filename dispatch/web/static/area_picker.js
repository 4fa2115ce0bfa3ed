/* The area picker (広域連携) of the gaps, submissions and roster pages: the centre's coordinator, the admin and
   the prefecture choose which area's data the page shows. The choice lives in the URL (?area=CODE), so a
   reload or a shared link keeps it. An area coordinator's pages have no picker: the server holds them to
   their own area, whatever the URL says. */
"use strict";

let AREA = ""; // the chosen area's code; "": the API's default (the centre's programme, or every area)
let AREAS = []; // the areas taking part (each with a programme here), as /api/v1/areas lists them
const areaListeners = [];

/** The chosen area as a query parameter for an API path: "?area=CODE" (or "&area=CODE"), or "". */
function areaParam(joiner = "?") {
  return AREA ? `${joiner}area=${encodeURIComponent(AREA)}` : "";
}

/** GET an API path for the picked area; null if another area was picked while it was asked (a stale answer). */
async function areaGet(path) {
  const asked = AREA;
  const result = await api("GET", `${path}${areaParam(path.includes("?") ? "&" : "?")}`);
  return asked === AREA ? result : null;
}

/** The chosen area (null: none chosen, the page shows the default). */
function chosenArea() {
  return AREAS.find((a) => a.code === AREA) || null;
}

/** Words (a month) with the picked area's name before them where the reader picks one: 香取海匝 2025-02. */
function inArea(words) {
  const select = document.getElementById("area-picker");
  if (!select || select.closest("label").hidden) return words;
  return `${select.selectedOptions[0].textContent} ${words}`;
}

/** Call `fn` after the reader picks another area. */
function onAreaChange(fn) {
  areaListeners.push(fn);
}

/** Fill the picker, if the page shows one to this reader: the URL's area, else 全圏域 where the page offers
    every area at once (`data-all`), else the centre's own area. */
async function fillAreaPicker() {
  const select = document.getElementById("area-picker");
  if (!select) return;
  const found = await api("GET", "/api/v1/areas");
  AREAS = found.ok ? found.data.areas.filter((a) => a.programme) : [];
  if (AREAS.length < 2) return;
  const all = select.dataset.all !== undefined;
  const home = AREAS.find((a) => a.programme === BOOT.programmeCode) || AREAS[0];
  select.replaceChildren(...(all ? [el("option", { value: "" }, t("area.all"))] : []),
    ...AREAS.map((a) => el("option", { value: a.code }, a.name)));
  const asked = new URLSearchParams(location.search).get("area");
  select.value = AREAS.some((a) => a.code === asked) ? asked : all ? "" : home.code;
  AREA = select.value;
  select.closest("label").hidden = false;
  select.addEventListener("change", () => {
    AREA = select.value;
    const url = new URL(location.href);
    if (AREA) url.searchParams.set("area", AREA);
    else url.searchParams.delete("area");
    history.replaceState(null, "", url);
    areaListeners.forEach((fn) => fn());
  });
}

// Settled once the picker holds its first choice: a page loads its data after this.
const areaReady = new Promise((resolve) => {
  document.addEventListener("DOMContentLoaded", () => fillAreaPicker().finally(resolve));
});
