/* The substitute physician's own settings: a private calendar link (issue, reissue, stop) and the
   reminder SMS before each shift (on or off). The link is shown once, when issued. */
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const physicianId = BOOT.user && BOOT.user.physicianId;
  if (!physicianId) {
    document.getElementById("me-no-physician").hidden = false;
    return;
  }
  const base = `/api/v1/physicians/${physicianId}`;
  const status = document.getElementById("me-calendar-status");
  const issue = document.getElementById("me-issue");
  const revoke = document.getElementById("me-revoke");
  const link = document.getElementById("me-link");
  const reminders = document.getElementById("me-reminders");

  function showCalendar(since) {
    status.textContent = since ? t("me.calendar_live").replace("{date}", fmtTime(since)) : t("me.calendar_none");
    issue.textContent = t(since ? "me.reissue" : "me.issue");
    revoke.hidden = !since;
  }

  function leadWords(minutes) {
    return minutes % 60 === 0
      ? t("me.hours").replace("{n}", minutes / 60)
      : t("me.minutes").replace("{n}", minutes);
  }

  const read = await api("GET", `${base}/preferences`).catch(() => NO_ANSWER);
  if (!read.ok) return toast(problemText(read), "error");
  document.getElementById("me-settings").hidden = false;
  showCalendar(read.data.calendar_feed_since);
  reminders.checked = read.data.shift_reminders;
  document.getElementById("me-reminders-label").textContent =
    t("me.reminders_label").replace("{lead}", leadWords(read.data.reminder_lead_minutes));

  issue.addEventListener("click", async () => {
    if (!revoke.hidden && !confirm(t("me.reissue_confirm"))) return;
    issue.disabled = true;
    const result = await api("POST", `${base}/calendar-token`).catch(() => NO_ANSWER);
    issue.disabled = false;
    if (!result.ok) return toast(problemText(result), "error");
    document.getElementById("me-link-url").value = result.data.url;
    document.getElementById("me-subscribe").href = result.data.webcal_url;
    link.hidden = false;
    showCalendar(result.data.created_at);
  });

  revoke.addEventListener("click", async () => {
    if (!confirm(t("me.revoke_confirm"))) return;
    const result = await api("DELETE", `${base}/calendar-token`).catch(() => NO_ANSWER);
    if (!result.ok) return toast(problemText(result), "error");
    link.hidden = true;
    document.getElementById("me-link-url").value = "";
    showCalendar(null);
    toast(t("me.revoked"), "ok");
  });

  document.getElementById("me-copy").addEventListener("click", async () => {
    const field = document.getElementById("me-link-url");
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      field.select();
      document.execCommand("copy");
    }
    toast(t("me.copied"), "ok");
  });

  reminders.addEventListener("change", async () => {
    const wanted = reminders.checked;
    reminders.disabled = true;
    const result = await api("PATCH", `${base}/preferences`, { shift_reminders: wanted }).catch(() => NO_ANSWER);
    reminders.disabled = false;
    if (!result.ok) {
      reminders.checked = !wanted;
      return toast(problemText(result), "error");
    }
    toast(t(wanted ? "me.reminders_on" : "me.reminders_off"), "ok");
  });
});
