// The staff console. Everything it shows is set as text (textContent), never as markup:
// patient words stay words. It talks only to the bot that served it.
"use strict";

const PERIODS = ["7d", "30d", "90d", "all"];
const SPANS = ["12w", "12m"];
let words = {};
let language = "en";
let timeZone = "UTC";

class Refused extends Error {}

function launchData() {
  const telegram = window.Telegram && window.Telegram.WebApp;
  if (telegram && telegram.initData) {
    return telegram.initData;
  }
  return new URLSearchParams(window.location.hash.slice(1)).get("tgWebAppData") || "";
}

function applyTheme() {
  const telegram = window.Telegram && window.Telegram.WebApp;
  let theme = telegram && telegram.themeParams;
  if (!theme) {
    try {
      const passed = new URLSearchParams(window.location.hash.slice(1)).get("tgWebAppThemeParams");
      theme = passed ? JSON.parse(passed) : {};
    } catch (error) {
      theme = {};
    }
  }
  for (const [name, value] of Object.entries(theme)) {
    if (/^#[0-9a-fA-F]{3,8}$/.test(String(value))) {
      document.documentElement.style.setProperty(`--tg-theme-${name.replace(/_/g, "-")}`, value);
    }
  }
}

async function api(path, sent) {
  const options = {
    headers: { Authorization: `tma ${launchData()}` },
    credentials: "omit",
  };
  if (sent !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(sent);
  }
  const reply = await fetch(`api/${path}`, options);
  const body = await reply.json();
  if (reply.status === 401 || reply.status === 403) {
    throw new Refused(body.message);
  }
  if (!reply.ok && reply.status !== 409) {
    throw new Error(body.message || body.error);
  }
  return body;
}

function element(tag, text, className) {
  const made = document.createElement(tag);
  if (text !== undefined && text !== null) {
    made.textContent = String(text);
  }
  if (className) {
    made.className = className;
  }
  return made;
}

function say(text, refused) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.classList.toggle("refused", Boolean(refused));
}

function number(value, digits) {
  if (value === null || value === undefined) {
    return "–";
  }
  return new Intl.NumberFormat(language, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

function percent(share) {
  if (share === null || share === undefined) {
    return "–";
  }
  return new Intl.NumberFormat(language, { style: "percent" }).format(share);
}

function signed(value) {
  if (value === null || value === undefined) {
    return "–";
  }
  return new Intl.NumberFormat(language, { signDisplay: "always", maximumFractionDigits: 0 }).format(value);
}

function figure(label, value, name) {
  const row = element("div", null, "figure");
  row.append(element("span", label), element("span", value, "value"));
  row.dataset.figure = name;
  return row;
}

function periodCard(figures) {
  const card = element("div", null, "card");
  card.dataset.period = figures.period;
  card.append(element("h3", words[`period_${figures.period}`]));
  card.append(
    figure(words.responses, number(figures.started, 0), "responses"),
    figure(
      words.completion_rate,
      `${number(figures.completed, 0)} (${percent(figures.completion_rate)})`,
      "completed",
    ),
    figure(words.csat, number(figures.csat_mean, 2), "csat"),
    figure(words.satisfied, percent(figures.csat_satisfied_share), "satisfied"),
    figure(words.nps, signed(figures.nps), "nps"),
    figure(words.response_rate, percent(figures.response_rate), "response_rate"),
  );
  return card;
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, text) {
  const made = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    made.setAttribute(name, String(value));
  }
  if (text !== undefined) {
    made.textContent = String(text);
  }
  return made;
}

function drawTrend(trend) {
  const width = 320, height = 160, left = 24, right = 30, top = 16, bottom = 20;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  chart.append(svg("title", {}, words.trend));
  const points = trend.points;
  const x = (index) => left + (index * (width - left - right)) / Math.max(points.length - 1, 1);
  const yCsat = (value) => top + ((5 - value) * (height - top - bottom)) / 4;
  const yNps = (value) => top + ((100 - value) * (height - top - bottom)) / 200;
  chart.append(svg("line", { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom, class: "axis" }));
  for (const [value, label] of [[5, "5"], [3, "3"], [1, "1"]]) {
    chart.append(svg("text", { x: 2, y: yCsat(value) + 3, class: "label" }, label));
  }
  for (const [value, label] of [[100, "+100"], [0, "0"], [-100, "−100"]]) {
    chart.append(svg("text", { x: width - right + 2, y: yNps(value) + 3, class: "label" }, label));
  }
  points.forEach((point, index) => {
    if (index % 3 === 0 || index === points.length - 1) {
      chart.append(svg("text", { x: x(index) - 10, y: height - 6, class: "label" }, point.start.slice(5)));
    }
  });
  const line = (key, scale) => {
    const segments = [];
    let current = [];
    points.forEach((point, index) => {
      if (point[key] === null) {
        if (current.length) segments.push(current);
        current = [];
      } else {
        current.push(`${x(index).toFixed(1)},${scale(point[key]).toFixed(1)}`);
      }
    });
    if (current.length) segments.push(current);
    return segments;
  };
  for (const segment of line("csat", yCsat)) {
    chart.append(svg("polyline", { points: segment.join(" "), class: "csat" }));
  }
  for (const segment of line("nps", yNps)) {
    chart.append(svg("polyline", { points: segment.join(" "), class: "nps" }));
  }
  // Each week or month with answers as a dot too: a lone one has no line to show it.
  points.forEach((point, index) => {
    if (point.csat !== null) {
      chart.append(svg("circle", { cx: x(index), cy: yCsat(point.csat), r: 2.5, class: "dot-csat" }));
    }
    if (point.nps !== null) {
      chart.append(svg("circle", { cx: x(index), cy: yNps(point.nps), r: 2.5, class: "dot-nps" }));
    }
  });
  chart.append(svg("text", { x: left, y: 10, class: "legend-csat" }, words.csat));
  chart.append(svg("text", { x: left + 60, y: 10, class: "legend-nps" }, words.nps));
  const holder = document.getElementById("trend");
  holder.replaceChildren(chart);
  holder.dataset.responses = String(points.reduce((sum, point) => sum + point.responses, 0));
}

async function showTrend(span) {
  for (const chip of document.querySelectorAll("#spans button")) {
    chip.setAttribute("aria-pressed", String(chip.dataset.span === span));
  }
  drawTrend(await api(`trend?span=${span}`));
}

async function showOverview() {
  if (document.getElementById("periods").childElementCount) {
    return;  // drawn once; the tabs come back to it as it was
  }
  document.getElementById("trend-title").textContent = words.trend;
  const spans = document.getElementById("spans");
  spans.replaceChildren(
    ...SPANS.map((span) => {
      const chip = element("button", words[`span_${span}`]);
      chip.type = "button";
      chip.dataset.span = span;
      chip.addEventListener("click", () => showTrend(span).catch(failed));
      return chip;
    }),
  );
  const [figures] = await Promise.all([
    Promise.all(PERIODS.map((period) => api(`overview?period=${period}`))),
    showTrend("12w"),
  ]);
  document.getElementById("periods").replaceChildren(...figures.map(periodCard));
}

// Tabs: each page is a section, shown alone.
const PAGES = {
  overview: showOverview,
  cases: showCases,
  comments: showComments,
  breakdowns: showBreakdowns,
};

async function showPage(name) {
  for (const tab of document.querySelectorAll("#tabs button")) {
    tab.setAttribute("aria-pressed", String(tab.dataset.page === name));
  }
  for (const page of Object.keys(PAGES)) {
    document.getElementById(page).hidden = page !== name;
  }
  await PAGES[name]();
  document.body.dataset.ready = name;
}

function makeTabs() {
  const tabs = document.getElementById("tabs");
  tabs.replaceChildren(
    ...Object.keys(PAGES).map((page) => {
      const tab = element("button", words[page]);
      tab.type = "button";
      tab.dataset.page = page;
      tab.addEventListener("click", () => {
        document.body.dataset.ready = "";
        showPage(page).catch(failed);
      });
      return tab;
    }),
  );
  tabs.hidden = false;
}

function when(iso) {
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short", timeZone }).format(
    new Date(iso),
  );
}

async function showCases() {
  document.getElementById("case").hidden = true;
  const list = document.getElementById("case-list");
  list.hidden = false;
  const { cases, open_total: openTotal } = await api("cases");
  const open = cases.filter((found) => !found.resolved_at);
  const resolved = cases.filter((found) => found.resolved_at);
  const rows = [];
  if (!cases.length) {
    rows.push(element("p", words.no_cases, "hint"));
  }
  for (const [title, group, total] of [
    [words.open, open, openTotal],
    [words.resolved_title, resolved, resolved.length],
  ]) {
    if (!group.length) continue;
    rows.push(element("h2", `${title} (${number(total, 0)})`));
    for (const found of group) {
      const row = element("button", null, "case-row");
      row.type = "button";
      row.dataset.case = String(found.id);
      const owner = found.resolved_at
        ? words.resolved_by.replace("{name}", found.claimed_by || "–")
        : found.claimed_by
          ? words.claimed_by.replace("{name}", found.claimed_by)
          : words.unclaimed;
      row.append(
        element("div", `${found.patient} · ${found.reasons.join(", ")}`, "who"),
        element("div", `${when(found.opened_at)} · ${owner}`, "meta"),
      );
      row.addEventListener("click", () => {
        document.body.dataset.ready = "";
        openCase(found.id).catch(failed);
      });
      rows.push(row);
    }
  }
  list.replaceChildren(...rows);
}

function section(title, ...content) {
  const part = document.createElement("section");
  part.append(element("h2", title), ...content);
  return part;
}

async function openCase(id) {
  const found = await api(`cases/${id}`);
  const view = document.getElementById("case");
  const back = element("button", `← ${words.back}`, "back");
  back.type = "button";
  back.addEventListener("click", () => {
    document.body.dataset.ready = "";
    showPage("cases").catch(failed);
  });
  const parts = [back, element("h2", found.patient)];
  parts.push(element("p", `${words.why}: ${found.reasons.join(", ")} · ${when(found.opened_at)}`, "hint"));
  if (found.visit) {
    parts.push(element("p", `${words.visit}: ${found.visit}`));
  }
  if (found.callback_phone) {
    parts.push(element("p", words.call_request.replace("{phone}", found.callback_phone)));
  }
  const owner = found.resolved_by
    ? words.resolved_by.replace("{name}", found.resolved_by)
    : found.claimed_by
      ? words.claimed_by.replace("{name}", found.claimed_by)
      : words.unclaimed;
  parts.push(element("p", owner, "hint"));
  parts.push(
    section(
      words.answers,
      ...found.answers.map((answer) => {
        const box = element("div", null, "answer");
        box.append(element("div", answer.question, "question"), element("div", answer.value, "said"));
        if (answer.sentiment) {
          const polarity = number(answer.polarity, 2);
          const why = answer.why.length ? ` — ${answer.why.join("; ")}` : "";
          box.append(element("div", `${answer.sentiment} (${polarity})${why}`, "hint"));
        }
        return box;
      }),
    ),
  );
  if (found.conversation.length) {
    parts.push(
      section(
        words.conversation,
        ...found.conversation.map((message) => {
          const box = element("div", null, `message ${message.from}`);
          const who = message.from === "to_patient"
            ? words.from_clinic.replace("{name}", message.author || "")
            : words.from_patient;
          const state = message.delivery === "failed"
            ? ` · ${words.delivery_failed}`
            : message.delivery === "pending" && message.from === "to_patient"
              ? ` · ${words.not_delivered}`
              : "";
          box.append(element("div", `${who} · ${when(message.at)}${state}`, "hint"), element("div", message.body, "body"));
          return box;
        }),
      ),
    );
  }
  if (found.note) {
    parts.push(section(words.note, element("p", found.note)));
  }
  if (!found.resolved_at) {
    parts.push(caseActions(found));
  }
  const said = element("p", "", null);
  said.id = "case-said";
  said.setAttribute("role", "status");
  parts.push(said);
  view.replaceChildren(...parts);
  view.dataset.case = String(found.id);
  document.getElementById("case-list").hidden = true;
  view.hidden = false;
  document.body.dataset.ready = "case";
}

function caseActions(found) {
  const actions = element("div", null, "actions");
  const act = async (button, path, sent) => {
    button.disabled = true;
    try {
      const done = await api(`cases/${found.id}/${path}`, sent);
      await openCase(found.id);
      document.getElementById("case-said").textContent = done.message;
    } finally {
      button.disabled = false;
    }
  };
  if (!found.claimed_by) {
    const claim = element("button", words.claim);
    claim.type = "button";
    claim.dataset.action = "claim";
    claim.addEventListener("click", () => act(claim, "claim", {}).catch(failed));
    actions.append(claim);
  }
  const reply = document.createElement("textarea");
  reply.rows = 3;
  reply.placeholder = words.reply_placeholder;
  reply.setAttribute("aria-label", words.reply);
  reply.dataset.field = "reply";
  const send = element("button", words.send);
  send.type = "button";
  send.dataset.action = "reply";
  // One key per reply typed: a double tap or a retry sends it once.
  const request = Math.floor(Math.random() * 2 ** 52) + 1;
  send.addEventListener("click", () => act(send, "reply", { text: reply.value, request }).catch(failed));
  const note = document.createElement("input");
  note.placeholder = words.note_placeholder;
  note.setAttribute("aria-label", words.note);
  note.dataset.field = "note";
  const resolve = element("button", words.resolve);
  resolve.type = "button";
  resolve.dataset.action = "resolve";
  resolve.addEventListener("click", () => act(resolve, "resolve", { note: note.value }).catch(failed));
  actions.append(element("h2", words.reply), reply, send, note, resolve);
  return actions;
}

// Comments: words to find, filters, pages of 50.
let commentPage = 0;
let filtersMade = false;

function options(select, anyLabel, choices) {
  select.replaceChildren(element("option", anyLabel));
  select.firstChild.value = "";
  for (const choice of choices) {
    const option = element("option", choice.label);
    option.value = choice.id;
    select.append(option);
  }
}

async function makeFilters() {
  if (filtersMade) return;
  const found = await api("filters");
  document.getElementById("comment-words").placeholder = words.search_placeholder;
  document.getElementById("comment-go").textContent = words.search;
  options(document.getElementById("comment-period"), words.any_period,
    PERIODS.slice(0, 3).map((period) => ({ id: period, label: words[`period_${period}`] })));
  options(document.getElementById("comment-sentiment"), words.any_sentiment, found.sentiments);
  options(document.getElementById("comment-treatment"), words.any_treatment, found.treatments);
  options(document.getElementById("comment-provider"), words.any_provider,
    found.providers.map((name) => ({ id: name, label: name })));
  options(document.getElementById("comment-location"), words.any_location,
    found.locations.map((name) => ({ id: name, label: name })));
  options(document.getElementById("comment-survey"), words.any_survey, found.surveys);
  document.getElementById("comment-search").addEventListener("submit", (event) => {
    event.preventDefault();
    commentPage = 0;
    document.body.dataset.ready = "";
    listComments().then(() => { document.body.dataset.ready = "comments"; }).catch(failed);
  });
  for (const [id, step] of [["comment-previous", -1], ["comment-next", 1]]) {
    const button = document.getElementById(id);
    button.textContent = words[id === "comment-previous" ? "previous" : "next"];
    button.addEventListener("click", () => {
      commentPage += step;
      document.body.dataset.ready = "";
      listComments().then(() => { document.body.dataset.ready = "comments"; }).catch(failed);
    });
  }
  filtersMade = true;
}

async function listComments() {
  const query = new URLSearchParams({ page: String(commentPage) });
  const fields = {
    q: "comment-words", period: "comment-period", sentiment: "comment-sentiment",
    treatment: "comment-treatment", provider: "comment-provider",
    location: "comment-location", survey: "comment-survey",
  };
  for (const [name, id] of Object.entries(fields)) {
    const value = document.getElementById(id).value.trim();
    if (value) query.set(name, value);
  }
  const found = await api(`comments?${query}`);
  const count = (found.more ? words.found_more : words.found).replace("{total}", number(found.total, 0));
  document.getElementById("comment-count").textContent = count;
  const list = document.getElementById("comment-list");
  if (!found.comments.length) {
    list.replaceChildren(element("p", words.no_comments, "hint"));
  } else {
    list.replaceChildren(
      ...found.comments.map((comment) => {
        const box = element("div", null, "comment");
        const about = [comment.patient, when(comment.at), comment.visit].filter(Boolean).join(" · ");
        box.append(
          element("div", about, "hint"),
          element("div", comment.text, "said"),
          element("div", `${comment.sentiment} (${number(comment.polarity, 2)}) · ${comment.survey}`, "hint"),
        );
        return box;
      }),
    );
  }
  document.getElementById("comment-page").textContent = words.page_of
    .replace("{page}", String(found.page + 1))
    .replace("{pages}", found.more ? `${found.pages}+` : String(found.pages));
  document.getElementById("comment-previous").disabled = found.page === 0;
  document.getElementById("comment-next").disabled = found.page + 1 >= found.pages && !found.more;
}

async function showComments() {
  await makeFilters();
  await listComments();
}

// Breakdowns: provider, treatment and location together.
let breakdownPeriod = "90d";

async function showBreakdowns() {
  const chips = document.getElementById("breakdown-periods");
  chips.replaceChildren(
    ...PERIODS.map((period) => {
      const chip = element("button", words[`period_${period}`]);
      chip.type = "button";
      chip.dataset.period = period;
      chip.setAttribute("aria-pressed", String(period === breakdownPeriod));
      chip.addEventListener("click", () => {
        breakdownPeriod = period;
        document.body.dataset.ready = "";
        showPage("breakdowns").catch(failed);
      });
      return chip;
    }),
  );
  const found = await api(`breakdowns?period=${breakdownPeriod}`);
  const holder = document.getElementById("breakdown-table");
  if (!found.groups.length) {
    holder.replaceChildren(element("p", words.no_groups, "hint"));
    return;
  }
  const table = document.createElement("table");
  const head = document.createElement("tr");
  for (const [label, numeric] of [
    [words.provider, false], [words.treatment, false], [words.location, false],
    [words.responses, true], [words.csat, true], [words.nps, true],
  ]) {
    head.append(element("th", label, numeric ? "number" : null));
  }
  table.append(head);
  for (const group of found.groups) {
    const row = document.createElement("tr");
    if (group.too_small) row.className = "too-small";
    const small = group.too_small ? ` (${words.too_small})` : "";
    row.append(
      element("td", group.provider || words.none),
      element("td", group.treatment || words.none),
      element("td", group.location || words.none),
      element("td", `${number(group.responses, 0)}${small}`, "number"),
      element("td", number(group.csat, 2), "number"),
      element("td", signed(group.nps), "number"),
    );
    table.append(row);
  }
  holder.replaceChildren(table);
}

function failed(error) {
  if (error instanceof Refused) {
    for (const page of Object.keys(PAGES)) {
      document.getElementById(page).hidden = true;
    }
    document.getElementById("tabs").hidden = true;
    say(error.message, true);
  } else {
    say(words.failed || "The console could not reach the bot.", false);
  }
  document.body.dataset.ready = "refused";
}

async function start() {
  applyTheme();
  if (window.Telegram && window.Telegram.WebApp && window.Telegram.WebApp.ready) {
    window.Telegram.WebApp.ready();
  }
  const me = await api("me");
  words = me.words;
  language = me.language;
  timeZone = me.timezone;
  document.documentElement.lang = language;
  document.title = `${words.title} · ${me.clinic}`;
  document.getElementById("title").textContent = `${words.title} · ${me.clinic}`;
  say(words.loading);
  makeTabs();
  await showPage("overview");
  say("");
  // How long the first render took, for the browser test to read.
  window.consoleFirstRenderMs = performance.now();
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch(failed);
});
