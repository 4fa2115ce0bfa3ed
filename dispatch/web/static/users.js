/* The admin's list of users: deactivate (every login ends at once), activate, set a new password. */
"use strict";

let resetting = null;

function actions(user) {
  if (user.username === BOOT.user.username) return el("span", { class: "muted" }, t("users.you"));
  const toggle = user.active
    ? el("button", { type: "button", class: "danger", onclick: () => deactivate(user) }, t("users.deactivate"))
    : el("button", { type: "button", onclick: () => act(user, "activate") }, t("users.activate"));
  return el("div", { class: "actions" }, toggle,
    el("button", { type: "button", onclick: () => openReset(user) }, t("users.reset")));
}

let areas = []; // every medical area, for a coordinator's area (広域連携)

/** A coordinator's area: every area (the centre's) or one, changed at once; other roles have none. */
function areaCell(user) {
  if (user.role !== "coordinator") return "—";
  const select = el("select", { name: "area", "aria-label": t("common.area"), onchange: () => setArea(user, select) },
    el("option", { value: "" }, t("area.all")),
    ...areas.map((a) => el("option", { value: a.code }, a.name)));
  select.value = (areas.find((a) => a.id === user.area_id) || { code: "" }).code;
  return select;
}

async function setArea(user, select) {
  const result = await api("PUT", `/api/v1/users/${user.id}/area`, { area: select.value || null });
  if (!result.ok) return toast(problemText(result), "error");
  toast(t("users.area_done").replace("{name}", user.display_name), "ok");
}

async function list() {
  if (!areas.length) {
    const found = await api("GET", "/api/v1/areas");
    areas = found.ok ? found.data.areas : [];
  }
  const result = await api("GET", "/api/v1/users");
  if (!result.ok) return toast(problemText(result), "error");
  document.querySelector("#users tbody").replaceChildren(...result.data.map((user) => el("tr", {
    class: user.active ? "" : "muted", dataset: { userId: user.id } },
  el("td", {}, user.username), el("td", {}, user.display_name), el("td", {}, label("role", user.role)),
  el("td", {}, areaCell(user)),
  el("td", {}, el("span", { class: user.active ? "flag ok" : "flag alert" }, user.active ? t("users.active") : t("users.inactive"))),
  el("td", {}, actions(user)))));
}

async function act(user, verb) {
  const result = await api("POST", `/api/v1/users/${user.id}/${verb}`);
  if (!result.ok) return toast(problemText(result), "error");
  await list();
}

function deactivate(user) {
  if (confirm(t("users.deactivate_confirm").replace("{name}", user.display_name))) act(user, "deactivate");
}

function openReset(user) {
  resetting = user;
  const form = document.getElementById("reset-form");
  form.reset();
  clearFieldErrors(form);
  document.getElementById("reset-title").textContent = t("users.reset_for").replace("{name}", user.display_name);
  document.getElementById("reset-panel").hidden = false;
  form.querySelector("input").focus();
}

function closeReset() {
  resetting = null;
  document.getElementById("reset-panel").hidden = true;
}

document.addEventListener("DOMContentLoaded", async () => {
  await list();
  const form = document.getElementById("reset-form");
  document.getElementById("reset-cancel").addEventListener("click", closeReset);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!resetting) return;
    const user = resetting;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await api("POST", `/api/v1/users/${user.id}/password`, Object.fromEntries(new FormData(form)));
      if (result.status === 422) return showFieldErrors(form, result);
      if (!result.ok) return toast(problemText(result), "error");
      closeReset();
      toast(t("users.reset_done").replace("{name}", user.display_name), "ok");
    } finally {
      button.disabled = false;
    }
  });
});
