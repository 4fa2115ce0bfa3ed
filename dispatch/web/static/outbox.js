/* Every SMS in and out, newest first (links redacted: a details link is for its physician alone). */
"use strict";

function smsStatus(m) {
  const status = label("sms_status", m.status);
  return m.status === "held" && m.not_before ? `${status} ${fmtTime(m.not_before)}${t("outbox.until")}` : status;
}

async function refresh() {
  showHeld();
  const result = await api("GET", "/api/v1/sms/messages?limit=200");
  if (!result.ok) return toast(problemText(result), "error");
  document.querySelector("#outbox tbody").replaceChildren(...result.data.map((m) => el("tr", { class: `sms ${m.direction}` },
    el("td", {}, fmtTime(m.created_at)),
    el("td", {}, m.direction === "inbound" ? t("outbox.in") : t("outbox.out")),
    el("td", {}, fmtPhone(m.phone_e164)), el("td", { class: "sms-body" }, m.body), el("td", {}, label("sms_purpose", m.purpose)), el("td", { class: m.status === "held" ? "flag alert" : "" }, smsStatus(m)),
    el("td", {}, m.case_id ? el("a", { href: `/cases/${m.case_id}` }, `#K${m.case_id}`) : "—"))));
}

document.addEventListener("DOMContentLoaded", async () => {
  await refresh();
  const later = debounce(refresh, 300);
  liveEvents(later, later);
  setInterval(refresh, 10000);
});
