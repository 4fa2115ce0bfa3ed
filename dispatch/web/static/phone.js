/* The demo's phones: each substitute physician's SMS thread, and a reply box that sends as their phone. */
"use strict";

const answers = new Map(); // physician id -> the last auto-reply (it may carry the details link)

function twimlText(twiml) {
  const doc = new DOMParser().parseFromString(twiml, "application/xml");
  return Array.from(doc.getElementsByTagName("Message"), (m) => m.textContent).join("\n");
}

function answerNode(text) {
  // The details link arrives only in the answer to an acceptance; show it as a link to open.
  const match = text.match(/https?:\/\/\S+/);
  return el("div", { class: "bubble in answer" }, text.replace(match ? match[0] : "", "").trim(),
    match ? el("a", { href: match[0], class: "details-link", target: "_blank", rel: "noreferrer" }, t("phone.details_link")) : null);
}

async function send(phone, body) {
  const result = await api("POST", "/api/v1/sms/simulator", { from_phone: phone.phone_e164, body });
  if (!result.ok) return toast(problemText(result), "error");
  answers.set(phone.physician_id, twimlText(result.data.twiml));
  await refresh();
}

function phoneCard(phone) {
  const input = el("input", { name: "body", placeholder: "412 Y", "aria-label": t("phone.answer"), maxlength: 320 });
  const thread = phone.messages.slice().reverse().map((m) => el("div", {
    class: `bubble ${m.direction === "outbound" ? "in" : "out"}`, dataset: { purpose: m.purpose },
  }, m.body, el("small", {}, fmtTime(m.created_at))));
  const answer = answers.get(phone.physician_id);
  return el("article", { class: "phone panel", dataset: { physicianId: phone.physician_id, phone: phone.phone_e164 } },
    el("h2", {}, phone.name, el("small", {}, ` ${phone.phone_e164}`)),
    // A region that scrolls: reachable and scrollable by keyboard, and named for a screen reader.
    el("div", { class: "thread", tabindex: "0", role: "region", "aria-label": `${t("phone.thread")}: ${phone.name}` }, thread.length ? thread : el("p", { class: "muted" }, t("phone.empty")),
      answer ? answerNode(answer) : null),
    el("form", { class: "reply", method: "post", onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) send(phone, input.value.trim()); } },
      input, el("button", { type: "submit" }, t("phone.send"))),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "primary accept", onclick: () => send(phone, "Y") }, t("phone.accept")),
      el("button", { type: "button", class: "decline", onclick: () => send(phone, "N") }, t("phone.decline")),
      el("button", { type: "button", onclick: () => send(phone, "到着") }, t("progress.arrived")),
      el("button", { type: "button", onclick: () => send(phone, "完了") }, t("progress.completed"))));
}

async function refresh() {
  const result = await api("GET", "/api/v1/sms/simulator/phones");
  if (!result.ok) return toast(problemText(result), "error");
  const active = document.activeElement;
  const focused = active && active.tagName === "INPUT" ? active.closest(".phone")?.dataset.physicianId : null;
  document.getElementById("phones").replaceChildren(...result.data.map(phoneCard));
  if (focused) document.querySelector(`.phone[data-physician-id="${focused}"] input`)?.focus();
}

document.addEventListener("DOMContentLoaded", async () => {
  await refresh();
  setInterval(() => {
    // Don't redraw under someone typing a reply.
    if (!document.activeElement || document.activeElement.tagName !== "INPUT" || !document.activeElement.value) refresh();
  }, 3000);
});
