/* The user's own account: a new password (other logins end), and logging out on every device. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("password-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const data = Object.fromEntries(new FormData(form));
    if (data.new_password !== data.new_password_again) {
      return showFieldErrors(form, { data: { errors: [{ field: "new_password_again", problem: t("account.mismatch") }] } });
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = { current_password: data.current_password, new_password: data.new_password };
      const result = await api("POST", "/api/v1/auth/password", body);
      if (result.status === 422) return showFieldErrors(form, result);
      if (!result.ok) return toast(problemText(result), "error");
      form.reset();
      toast(t("account.changed").replace("{n}", result.data.sessions_ended), "ok");
    } catch {
      toast(t("common.network"), "error");
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById("logout-everywhere").addEventListener("click", async (event) => {
    if (!confirm(t("account.everywhere_confirm"))) return;
    event.currentTarget.disabled = true;
    const result = await api("POST", "/api/v1/auth/logout-everywhere").catch(() => null);
    if (result && !result.ok) return toast(problemText(result), "error");
    location.href = "/login";
  });
});
