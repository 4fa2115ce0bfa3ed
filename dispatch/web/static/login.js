"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    error.hidden = true;
    const data = Object.fromEntries(new FormData(form));
    let response;
    try {
      response = await fetch("/api/v1/auth/login", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
      });
    } catch {
      error.textContent = t("common.network");
      error.hidden = false;
      return;
    } finally {
      button.disabled = false;
    }
    if (response.ok) {
      // Only somewhere on this site, however the address was written.
      const next = new URL(form.dataset.next || "/", location.origin);
      const here = next.origin === location.origin && next.pathname !== "/login";
      location.href = here ? next.pathname + next.search : "/";
      return;
    }
    error.textContent = response.status === 429 ? t("login.throttled") : t("login.failed");
    error.hidden = false;
  });
});
