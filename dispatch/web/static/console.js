/* Shared by every console page: words, times in Asia/Tokyo, the API with the login cookie, live events. */
"use strict";

const BOOT = JSON.parse(document.getElementById("boot").textContent);
// The server's clock may be a simulation's: keep our offset from it so waiting times agree with the server.
const CLOCK_OFFSET_MS = Date.parse(BOOT.serverNow) - Date.now();

function t(key) {
  return BOOT.messages[key] ?? key;
}

function label(group, value) {
  if (value === null || value === undefined) return "—";
  return (BOOT.labels[group] || {})[value] ?? value;
}

function serverNow() {
  return Date.now() + CLOCK_OFFSET_MS;
}

const LOCALE = BOOT.lang === "ja" ? "ja-JP" : "en-GB";
const TIME_FORMAT = new Intl.DateTimeFormat(LOCALE, {
  timeZone: BOOT.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
});
const CLOCK_FORMAT = new Intl.DateTimeFormat(LOCALE, {
  timeZone: BOOT.timezone, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** A time as people here read it: in the programme's time zone (Asia/Tokyo), never the browser's. */
function fmtTime(iso) {
  return iso ? TIME_FORMAT.format(new Date(iso)) : "—";
}

// 和暦: each era from its first day (births are from 1890 on).
const ERAS = [["令和", "2019-05-01"], ["平成", "1989-01-08"], ["昭和", "1926-12-25"], ["大正", "1912-07-30"], ["明治", "1868-01-25"]];
const DAY_PARTS = new Intl.DateTimeFormat("en-GB", {
  timeZone: BOOT.timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

/** An instant on the programme's local calendar: "2025-01-15T23:05" (a datetime-local input's value). */
function localMinute(ms) {
  const p = Object.fromEntries(DAY_PARTS.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** A local "2025-01-15T23:05" as an instant with its offset, e.g. "2025-01-15T23:05:00+09:00". */
function localToIso(value) {
  const guess = Date.parse(`${value}:00Z`);
  const offset = Math.round((Date.parse(`${localMinute(guess)}:00Z`) - guess) / 60000); // zone minus UTC
  const sign = offset < 0 ? "-" : "+";
  const hhmm = `${String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0")}:${String(Math.abs(offset) % 60).padStart(2, "0")}`;
  return `${value}:00${sign}${hhmm}`;
}

/** Age in whole years on `today` ("YYYY-MM-DD"), born on `birth`. */
function ageOn(birth, today) {
  const [by, bm, bd] = birth.split("-").map(Number);
  const [ty, tm, td] = today.split("-").map(Number);
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}

/** A birth date in 和暦 with the age today (server's clock, local day): 「昭和13年5月12日（86歳）」. */
function fmtBirthDate(iso) {
  if (!iso) return "—";
  const age = t("patient.age").replace("{age}", ageOn(iso, localMinute(serverNow()).slice(0, 10)));
  if (BOOT.lang !== "ja") return `${iso} (${age})`;
  const [y, m, d] = iso.split("-").map(Number);
  const era = ERAS.find(([, first]) => iso >= first);
  if (!era) return `${y}年${m}月${d}日（${age}）`;
  const year = y - Number(era[1].slice(0, 4)) + 1;
  return `${era[0]}${year === 1 ? "元" : year}年${m}月${d}日（${age}）`;
}

/** "12分" / "12 min" since a time, on the server's clock. */
function minutesSince(iso) {
  return Math.max(0, Math.floor((serverNow() - Date.parse(iso)) / 60000));
}

function fmtMinutes(n) {
  return BOOT.lang === "ja" ? `${n}分` : `${n} min`;
}

/** Build an element; strings become text nodes, so nothing the API returns is ever parsed as HTML. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** +819012345678 as people here write it: 090-1234-5678 (other numbers: 0 and the digits). */
function fmtPhone(e164) {
  if (!e164) return "—";
  if (!e164.startsWith("+81")) return e164;
  const national = `0${e164.slice(3)}`;
  const mobile = national.match(/^(0[789]0)(\d{4})(\d{4})$/);
  return mobile ? mobile.slice(1).join("-") : national;
}

const VITAL_UNITS = { spo2_percent: ["SpO2", "%"], temperature_c: ["", "℃"], pulse_bpm: ["HR", "/min"],
  systolic_bp: ["sBP", ""], diastolic_bp: ["dBP", ""], respiratory_rate: ["RR", "/min"] };

function fmtVitals(vitals) {
  const parts = Object.entries(vitals || {}).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => { const [name, unit] = VITAL_UNITS[k] || [k, ""]; return `${name} ${v}${unit}`.trim(); });
  return parts.length ? parts.join(" / ") : "—";
}

const DATE_FORMAT = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" });

/** A calendar date (2024-05-01) as people read it: 2024年5月1日. */
function fmtDate(value) {
  return /^\d{4}-\d{2}-\d{2}$/.test(value || "") ? DATE_FORMAT.format(new Date(`${value}T00:00:00Z`)) : value || "—";
}

/** A stored value in words, never a machine value: はい/いいえ, dates, phone numbers, lists; a label group's
    words where one is named. */
function valueWords(value, group) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? t("common.yes") : t("common.no");
  if (Array.isArray(value)) return value.length ? value.map((v) => valueWords(v, group)).join("、") : t("common.none");
  if (typeof value === "object") {
    return Object.entries(value).map(([k, v]) => `${label(group || "", k)}：${valueWords(v)}`).join("、") || t("common.none");
  }
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return fmtDate(text);
  if (/^\+\d{8,15}$/.test(text)) return fmtPhone(text);
  return group && BOOT.labels[group] && BOOT.labels[group][text] ? BOOT.labels[group][text] : text;
}

/** Who wrote a timeline entry, in words: 「代診医（SMS） 成田 一郎」, 「システム（自動手配）」, a user's name. */
function actorWords(e) {
  const [kind, rest = ""] = String(e.actor).split(/:(.*)/s);
  if (kind === "user") return e.actor_name || `${t("actor.user")} ${rest}`;
  if (kind === "sms" || kind === "link" || kind === "voice") return [t(`actor.${kind}`), e.actor_name].filter(Boolean).join(" ");
  if (kind === "system") {
    const part = (BOOT.labels.system_actor || {})[rest];
    return part ? `${t("actor.system")}（${part}）` : t("actor.system");
  }
  return e.actor_name || t("actor.system");
}

/** Why, in words: the system's reasons by their code; what the kind's data says; else what a person typed. */
function reasonWords(e) {
  const data = e.data || {};
  if (data.reason_code) return label("event_reason", data.reason_code);
  if (e.kind === "clinic.notified") return [nameOf("clinics", data.clinic_id), label("outcome", data.outcome)].join(" — ");
  if (e.kind === "backup_bed.taken") {
    return [data.hospital_name, t("event.free_beds").replace("{free}", data.free)].filter(Boolean).join(" — ");
  }
  return e.reason || null;
}

/** One timeline entry as words and badges: what happened, who, why. */
function eventWords(e) {
  const what = BOOT.messages[`event.${e.kind}`];
  return [
    what ? el("strong", {}, what)
      : e.to_state ? el("span", {}, e.from_state ? `${label("state", e.from_state)} → ` : "", stateBadge(e.to_state))
        : el("strong", {}, e.kind),
    el("span", { class: "muted" }, ` ${actorWords(e)}`),
    reasonWords(e) ? el("span", {}, ` — ${reasonWords(e)}`) : null,
  ];
}

function urgencyBadge(urgency) {
  return el("span", { class: `urgency u-${urgency || "none"}` }, urgency ? label("urgency", urgency) : "—");
}

function stateBadge(state) {
  return el("span", { class: `state s-${state}` }, label("state", state));
}

/** Call the API with the login cookie; a lapsed login goes back to the login page. */
async function api(method, path, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init); // no answer at all throws: callers that resend know it so
  if (response.status === 401) {
    if (method === "GET") {
      location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
      throw new Error("login required");
    }
    // Never throw away what someone was typing: log in again in another tab, then press again here.
    loginLapsed();
  }
  const type = response.headers.get("content-type") || "";
  // A proxy's or a crashed server's page is no JSON: keep the status, never throw the page away over it.
  const data = await (type.includes("json") ? response.json() : response.text()).catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

const STATUS_WORDS = {
  401: "common.login_lapsed", 403: "common.forbidden", 404: "common.not_found", 409: "common.conflict", 429: "login.throttled",
};

/** What went wrong, in the reader's language where the status says enough; the server's words after it. */
/** No answer at all (the network), as a result `problemText` words: for pages that keep what they show. */
const NO_ANSWER = Object.freeze({ ok: false, status: 0, data: null });

function problemText(result) {
  // No answer, or the server failed (a 500, a busy database's 503, a proxy's 502): words, not a number.
  if (result.status === 0) return t("common.network");
  if (result.status >= 500) return `${t("common.server_busy")} ${t("common.kept_on_screen")}`;
  const detail = result.data && result.data.detail;
  let said = typeof detail === "string" ? detail : detail && detail.message ? detail.message : "";
  if (BOOT.lang === "ja" && said && !JAPANESE.test(said)) {
    // The API's English stays out of the Japanese console: a "field: problem" is said in words, the rest dropped.
    const named = said.match(/^([a-z][a-z0-9_.]*): (.+)$/s);
    said = named ? `${fieldLabel(named[1])}：${inWords(named[2])}` : result.status === 422 ? inWords(said) : "";
  }
  const key = STATUS_WORDS[result.status];
  if (key && BOOT.lang === "ja") return said ? `${t(key)}（${said}）` : t(key);
  return said || `${t("common.error")} ${result.status}`;
}

function loginLapsed() {
  if (document.getElementById("lapsed")) return;
  const banner = el("div", { id: "lapsed", class: "banner", role: "alert" }, t("common.login_lapsed"), " ",
    el("a", { href: "/login", target: "_blank", rel: "noopener" }, t("login.title")));
  document.body.prepend(banner);
}

// The API words its problems in English; the common ones are said again in Japanese for the console.
const PROBLEMS_JA = [
  [/^Field required$/, () => "入力してください"],
  [/^is empty/, () => "入力してください"],
  [/^'(.*)' is not a (valid )?phone number/, (m) => `「${m[1]}」は電話番号として正しくありません。090-1234-5678 や 043-123-4567 の形で入力してください`],
  [/^Input should be a valid (integer|number)/, () => "数字で入力してください"],
  [/^Input should be greater than or equal to (\S+)/, (m) => `${m[1]}以上で入力してください`],
  [/^Input should be less than or equal to (\S+)/, (m) => `${m[1]}以下で入力してください`],
  [/^String should have at least 1 character/, () => "入力してください"],
  [/^String should have at most (\d+) character/, (m) => `${m[1]}文字以内で入力してください`],
  [/^String should have at least (\d+) character/, (m) => `${m[1]}文字以上で入力してください`],
  [/^is not your current password/, () => "現在のパスワードが違います"],
  [/^must differ from the current password/, () => "今のパスワードとは違うものにしてください"],
  [/^Input should be '/, () => "一覧から選んでください"],
  [/^Input should be a valid datetime/, () => "日時を入力してください"],
  // issue 16: the rest of the API's English, so that nothing English reaches the Japanese console
  [/^Input should be a valid boolean/, () => t("problem.yes_no")],
  [/^Input should be a valid date/, () => t("problem.date")],
  [/^Input should be a valid string/, () => t("problem.text")],
  [/^Input should be greater than (\S+)/, (m) => t("problem.gt").replace("{n}", m[1])],
  [/^Input should be less than (\S+)/, (m) => t("problem.lt").replace("{n}", m[1])],
  [/^Extra inputs are not permitted/, () => t("problem.not_accepted")],
  [/^String should match pattern/, () => t("problem.format")],
  [/phone number/, () => t("problem.phone")],
  [/^cannot be before ([a-z_.]+)/, (m) => t("problem.before").replace("{other}", fieldLabel(m[1]))],
  [/^only for the outcome (\w+)/, (m) => t("problem.only_for_outcome").replace("{outcome}", label("outcome", m[1]))],
  [/needs the death record/, () => t("problem.death_record_needed")],
  [/is not a possible date of birth/, () => t("problem.birth_date")],
  [/^is in the future/, () => t("problem.future")],
  [/^is more than 7 days ago/, () => t("problem.too_old")],
  [/is not a month/, () => t("problem.month")],
  [/6 digits/, () => t("problem.six_digits")],
  [/^name_kana and date_of_birth go together/, () => t("problem.kana_with_birth")],
  [/NUL characters/, () => t("problem.nul")],
];

// Hiragana, katakana, kanji or full-width forms: words already in Japanese.
const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]/;

function inWords(problem) {
  if (BOOT.lang !== "ja") return problem;
  for (const [pattern, say] of PROBLEMS_JA) {
    const match = problem.match(pattern);
    if (match) return say(match);
  }
  // Never English in the Japanese console: a problem we have no words for is still said in Japanese.
  return JAPANESE.test(problem) ? problem : t("problem.invalid");
}

// pydantic's error types (`type` in each error of a 422) in the reader's words; `context` holds the limits.
const PROBLEM_TYPES = {
  missing: () => t("problem.missing"),
  bool_type: () => t("problem.yes_no"), bool_parsing: () => t("problem.yes_no"),
  int_type: () => t("problem.integer"), int_parsing: () => t("problem.integer"), int_from_float: () => t("problem.integer"),
  float_type: () => t("problem.number"), float_parsing: () => t("problem.number"),
  decimal_type: () => t("problem.number"), decimal_parsing: () => t("problem.number"),
  string_type: () => t("problem.text"),
  string_too_short: (c) => (c.min_length > 1 ? t("problem.min_length").replace("{n}", c.min_length) : t("problem.missing")),
  string_too_long: (c) => t("problem.max_length").replace("{n}", c.max_length),
  too_short: (c) => t("problem.min_items").replace("{n}", c.min_length),
  too_long: (c) => t("problem.max_items").replace("{n}", c.max_length),
  greater_than_equal: (c) => t("problem.ge").replace("{n}", c.ge),
  less_than_equal: (c) => t("problem.le").replace("{n}", c.le),
  greater_than: (c) => t("problem.gt").replace("{n}", c.gt),
  less_than: (c) => t("problem.lt").replace("{n}", c.lt),
  enum: () => t("problem.choose"), literal_error: () => t("problem.choose"),
  datetime_type: () => t("problem.datetime"), datetime_parsing: () => t("problem.datetime"),
  datetime_from_date_parsing: () => t("problem.datetime"), timezone_aware: () => t("problem.datetime"),
  date_type: () => t("problem.date"), date_parsing: () => t("problem.date"), date_from_datetime_parsing: () => t("problem.date"),
  date_from_datetime_inexact: () => t("problem.date"),
  string_pattern_mismatch: () => t("problem.format"), url_parsing: () => t("problem.format"),
  list_type: () => t("problem.format"), dict_type: () => t("problem.format"), model_type: () => t("problem.format"),
  model_attributes_type: () => t("problem.format"),
  extra_forbidden: () => t("problem.not_accepted"), json_invalid: () => t("problem.unreadable"),
};

/** One error of a 422 in the reader's words: by pydantic's type where it has one, else by its English text. */
function problemWords(error) {
  if (BOOT.lang !== "ja") return error.problem;
  const say = error.type && PROBLEM_TYPES[error.type];
  return say ? say(error.context || {}) : inWords(error.problem);
}

/** An API field name ("death.confirmed_at", "patient.household_phone") as the form calls it. */
function fieldLabel(field) {
  const name = String(field).replace(/^patient\./, "");
  const labels = BOOT.labels.api_field || {};
  return labels[name] ?? labels[name.split(".").pop()] ?? BOOT.messages[`field.${name}`] ?? name;
}

/** Show a 422's problems beside the fields they name, and a summary; returns whether any were shown. */
function showFieldErrors(form, result) {
  clearFieldErrors(form);
  const errors = (result.data && result.data.errors) || [];
  const unplaced = [];
  for (const error of errors) {
    const name = error.field.replace(/^patient\./, "");
    const input = form.querySelector(`[name="${CSS.escape(error.field)}"], [name="${CSS.escape(name)}"]`);
    const message = el("span", { class: "field-error", role: "alert" }, problemWords(error));
    if (input && input.closest("label")) {
      input.setAttribute("aria-invalid", "true");
      input.closest("label").append(message);
    } else {
      unplaced.push(`${fieldLabel(error.field)}${BOOT.lang === "ja" ? "：" : ": "}${problemWords(error)}`);
    }
  }
  const summary = form.querySelector(".form-error");
  if (summary) {
    // Problems with no field on the form to stand beside are said in the summary itself.
    summary.textContent = unplaced.length ? unplaced.join(" / ") : errors.length ? t("common.check_fields") : problemText(result);
    summary.hidden = false;
  }
  return errors.length > 0;
}

function clearFieldErrors(form) {
  form.querySelectorAll(".field-error").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  const summary = form.querySelector(".form-error");
  if (summary) summary.hidden = true;
}

let toastTimer = null;
function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = `toast ${kind}`;
  box.hidden = false;
  clearTimeout(toastTimer);
  // A problem stays until it is read (a click closes it); good news fades.
  if (kind !== "error") toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
}

/** Case events as they happen. EventSource reconnects by itself and sends Last-Event-ID; dedupe by id.
    `onReady` runs on every (re)connection, so a page re-reads what it shows and misses nothing in the gap.
    A stream the browser gave up on (a restart, a proxy error, a lapsed login) is opened again, slower each
    time: a board left open all night must not go quietly stale. */
function liveEvents(onEvent, onReady) {
  const indicator = document.getElementById("live");
  const seen = new Set();
  let retry = 1000;
  indicator.hidden = false;
  const offline = () => {
    indicator.textContent = t("common.offline");
    indicator.className = "live off";
  };
  const open = () => {
    offline();
    const source = new EventSource("/api/v1/events");
    source.addEventListener("ready", () => {
      retry = 1000;
      indicator.textContent = t("common.live");
      indicator.className = "live on";
      if (onReady) onReady();
    });
    source.addEventListener("case", (message) => {
      const payload = JSON.parse(message.data);
      if (seen.has(payload.event_id)) return;
      seen.add(payload.event_id);
      onEvent(payload);
    });
    source.onerror = async () => {
      offline();
      if (source.readyState !== EventSource.CLOSED) return; // the browser is retrying by itself
      source.close();
      const me = await fetch("/api/v1/auth/me", { credentials: "same-origin" }).catch(() => null);
      if (me && me.status === 401) return loginLapsed();
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 30000);
    };
  };
  open();
}

/** Numbers whose SMS the hourly cap holds, in the banner of a page that has one (the board, the outbox). */
async function showHeld() {
  const banner = document.getElementById("sms-held");
  if (!banner) return;
  const result = await api("GET", "/api/v1/sms/held");
  if (!result.ok) return;
  banner.hidden = result.data.length === 0;
  banner.textContent = result.data.length ? `${t("sms_cap.banner")}: ${result.data.map((n) =>
    `${n.physician_name || fmtPhone(n.phone_e164)} ${n.held}${t("sms_cap.count")} · ${t("sms_cap.next")} ${fmtTime(n.next_at)}`,
  ).join("、")}` : "";
}

const PAGE_TITLE = document.title;
/** The tab's title with the count of live alarms in front (⚠2), for a page left in the background; `base`
    replaces the page's own title. */
function titleWithAlarms(count, base = PAGE_TITLE) {
  document.title = `${count ? `⚠${count} ` : ""}${base}`;
}

/** Run `fn` at most once per `ms`, at the end of a burst (many events, one reload). */
function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const reference = { municipalities: null, physicians: null, clinics: null, areas: null };

/** Names for ids (municipalities, physicians, clinics), loaded once per page where the role may read them. */
async function loadReference(...kinds) {
  const sources = {
    municipalities: ["/api/v1/programme", (d) => d.municipalities],
    physicians: ["/api/v1/roster/physicians", (d) => d],
    clinics: ["/api/v1/clinics", (d) => d],
    // Each medical area with a programme, by the programme's id (as a case names it: `programme_id`).
    areas: ["/api/v1/areas", (d) => d.areas.filter((a) => a.programme_id).map((a) => ({ ...a, id: a.programme_id }))],
  };
  await Promise.all(kinds.map(async (kind) => {
    if (reference[kind]) return;
    const [path, pick] = sources[kind];
    const result = await api("GET", path);
    reference[kind] = new Map(result.ok ? pick(result.data).map((item) => [item.id, item]) : []);
  }));
}

function nameOf(kind, id) {
  if (id === null || id === undefined) return "—";
  const item = reference[kind] && reference[kind].get(id);
  return item ? (item.name || item.label) : `#${id}`;
}

function tickClock() {
  const node = document.getElementById("clock");
  if (node) node.textContent = CLOCK_FORMAT.format(new Date(serverNow()));
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("toast").addEventListener("click", (event) => { event.currentTarget.hidden = true; });
  tickClock();
  setInterval(tickClock, 1000);
  document.getElementById("logout")?.addEventListener("click", async () => {
    await fetch("/api/v1/auth/logout", { method: "POST", credentials: "same-origin" });
    location.href = "/login";
  });
});

/** The centre's filter by medical area (board, dispatch): the select the page shows only to those who see
    every area (an area coordinator's pages have none: the server gives them their area's cases only). Calls
    `onChange` when the choice changes; `areaQuery()` is the choice as a query string for /api/v1/cases. */
function areaFilter(onChange) {
  const select = document.getElementById("area-filter");
  if (!select || !reference.areas || reference.areas.size < 2) return;
  select.replaceChildren(el("option", { value: "" }, t("area.all")),
    ...[...reference.areas.values()].map((a) => el("option", { value: a.code }, a.name)));
  select.value = [...reference.areas.values()].some((a) => a.code === localStorage.getItem("area")) ? localStorage.getItem("area") : "";
  select.closest("label").hidden = false;
  select.addEventListener("change", () => {
    localStorage.setItem("area", select.value);
    onChange();
  });
}

function areaQuery() {
  const select = document.getElementById("area-filter");
  return select && select.value ? `&area=${encodeURIComponent(select.value)}` : "";
}

/** Whether a live event is about a case of the area chosen in the filter (every event when none is). */
function inChosenArea(event) {
  const select = document.getElementById("area-filter");
  if (!select || !select.value || !reference.areas) return true;
  const area = reference.areas.get(event.programme_id);
  return !area || area.code === select.value;
}
