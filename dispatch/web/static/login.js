"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const codeForm = document.getElementById("code-form");
  const codeError = document.getElementById("code-error");
  const useRecovery = document.getElementById("use-recovery");
  let challenge = null;

  /** POST a login step as JSON; null when the network failed (the error is shown in `where`). */
  async function post(path, body, button, where) {
    button.disabled = true;
    where.hidden = true;
    try {
      return await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
    } catch {
      where.textContent = t("common.network");
      where.hidden = false;
      return null;
    } finally {
      button.disabled = false;
    }
  }

  function goOn(login) {
    // A login that must first enrol its second factor goes to do so.
    if (login.enrolment_required) {
      location.href = "/two-factor";
      return;
    }
    // Only somewhere on this site, however the address was written.
    const next = new URL(form.dataset.next || "/", location.origin);
    const here = next.origin === location.origin && next.pathname !== "/login";
    location.href = here ? next.pathname + next.search : "/";
  }

  function askForCode(body) {
    challenge = body.challenge;
    form.hidden = true;
    codeForm.hidden = false;
    codeForm.querySelector("[name=code]").focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await post("/api/v1/auth/login", Object.fromEntries(new FormData(form)),
      form.querySelector("button"), error);
    if (!response) return;
    if (response.status === 202) return askForCode(await response.json());
    if (response.ok) return goOn(await response.json());
    error.textContent = response.status === 429 ? t("login.throttled") : t("login.failed");
    error.hidden = false;
  });

  useRecovery.addEventListener("click", () => {
    const code = document.getElementById("code-field");
    const recovery = document.getElementById("recovery-field");
    code.hidden = !code.hidden;
    recovery.hidden = !recovery.hidden;
    [useRecovery.textContent, useRecovery.dataset.other] = [useRecovery.dataset.other, useRecovery.textContent];
    (code.hidden ? recovery : code).querySelector("input").focus();
  });

  codeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const byRecovery = document.getElementById("code-field").hidden;
    const field = byRecovery ? "recovery_code" : "code";
    const body = {
      challenge,
      [field]: codeForm.querySelector(`[name=${field}]`).value,
      remember_device: Boolean(codeForm.querySelector("[name=remember_device]")?.checked),
    };
    const response = await post("/api/v1/auth/login/verify", body, codeForm.querySelector("button"), codeError);
    if (!response) return;
    if (response.ok) return goOn(await response.json());
    const detail = String((await response.json().catch(() => ({}))).detail || "");
    if (detail.startsWith("challenge:")) {
      // Too slow, or the login was reset: start again from the password.
      codeForm.hidden = true;
      form.hidden = false;
      error.textContent = t("login.challenge_expired");
      error.hidden = false;
      return;
    }
    codeError.textContent = response.status === 429 ? t("login.throttled")
      : detail.includes("already used") ? t("login.code_reused") : t("login.code_failed");
    codeError.hidden = false;
  });
});
