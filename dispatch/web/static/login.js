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
    const response = await fetch("/api/v1/auth/login", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
    });
    button.disabled = false;
    if (response.ok) {
      const next = form.dataset.next;
      location.href = next && next !== "/login" ? next : "/";
      return;
    }
    error.textContent = response.status === 429 ? t("login.throttled") : t("login.failed");
    error.hidden = false;
  });
});
