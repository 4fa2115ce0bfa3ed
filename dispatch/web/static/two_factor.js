/* The caller's second factor: enrol (QR code), confirm, recovery codes shown once, renew, forget, turn off. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const $ = (id) => document.getElementById(id);
  const SECTIONS = ["tf-start", "tf-enrol", "tf-codes", "tf-manage"];

  function show(id) {
    for (const section of SECTIONS) $(section).hidden = section !== id;
  }

  /** A refused code or password in the reader's words. */
  function refused(result) {
    const detail = String((result.data && result.data.detail) || "");
    if (result.status === 429) return t("login.throttled");
    if (detail.includes("already used")) return t("login.code_reused");
    if (detail.startsWith("code:") || detail.startsWith("password:")) return t("login.code_failed");
    const first = result.data && result.data.errors && result.data.errors[0];
    return first ? problemWords(first) : problemText(result);
  }

  function fail(form, result) {
    const summary = form.querySelector(".form-error");
    summary.textContent = refused(result);
    summary.hidden = false;
  }

  async function load() {
    const result = await api("GET", "/api/v1/auth/totp");
    if (!result.ok) return toast(problemText(result), "error");
    const status = result.data;
    $("tf-required").hidden = !(status.required && !status.enrolled);
    $("tf-state").textContent = status.enrolled ? t("twofactor.on")
      : `${t("twofactor.off")} ${status.required ? "" : t("twofactor.optional")}`;
    if (!status.enrolled) return show("tf-start");
    $("tf-since").textContent = fmtTime(status.confirmed_at);
    $("tf-left").textContent = String(status.recovery_codes_left);
    $("tf-devices").textContent = String(status.remembered_devices);
    show("tf-manage");
  }

  function showCodes(codes) {
    $("tf-code-list").replaceChildren(...codes.map((code) => el("li", {}, code)));
    show("tf-codes");
  }

  $("tf-begin").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true; // one enrolment per press: the QR code shown is the one kept
    const result = await api("POST", "/api/v1/auth/totp/enrol").finally(() => { button.disabled = false; });
    if (!result.ok) return toast(problemText(result), "error");
    // An image from a data: URI: the SVG is never parsed into the page.
    $("tf-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(result.data.qr_svg)}`;
    $("tf-secret").textContent = result.data.secret.replace(/(.{4})/g, "$1 ").trim();
    show("tf-enrol");
    $("tf-confirm-form").querySelector("input").focus();
  });

  $("tf-confirm-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const result = await api("POST", "/api/v1/auth/totp/confirm", { code: form.code.value });
    if (!result.ok) return fail(form, result);
    $("tf-secret").textContent = "";
    $("tf-qr").removeAttribute("src");
    $("tf-required").hidden = true;
    $("tf-state").textContent = t("twofactor.on");
    toast(t("twofactor.enrolled_ok"), "ok");
    showCodes(result.data.recovery_codes);
  });

  $("tf-renew-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const result = await api("POST", "/api/v1/auth/totp/recovery-codes", { code: form.code.value });
    if (!result.ok) return fail(form, result);
    form.reset();
    showCodes(result.data.recovery_codes);
  });

  $("tf-forget").addEventListener("click", async () => {
    const result = await api("POST", "/api/v1/auth/totp/devices/forget");
    if (!result.ok) return toast(problemText(result), "error");
    toast(t("twofactor.forgotten_ok"), "ok");
    load();
  });

  $("tf-disable-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const proof = form.proof.value.trim();
    const body = /^\d{6}$/.test(proof.replace(/\s/g, "")) ? { code: proof } : { password: form.proof.value };
    const result = await api("POST", "/api/v1/auth/totp/disable", body);
    if (!result.ok) return fail(form, result);
    form.reset();
    toast(t("twofactor.disabled_ok"), "ok");
    load();
  });

  $("tf-print").addEventListener("click", () => window.print());
  $("tf-copy").addEventListener("click", async () => {
    const codes = [...$("tf-code-list").children].map((item) => item.textContent).join("\n");
    await navigator.clipboard.writeText(codes).then(() => toast(t("twofactor.copied"), "ok"), () => {});
  });
  $("tf-done").addEventListener("click", () => {
    $("tf-code-list").replaceChildren();
    // Enrolled now: the pages this login was kept from are open (the page itself comes back otherwise).
    location.href = "/";
  });

  load();
});
