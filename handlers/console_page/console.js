// The staff console. Everything it shows is set as text (textContent), never as markup:
// patient words stay words. It talks only to the bot that served it.
"use strict";

const PERIODS = ["7d", "30d", "90d", "all"];
const SPANS = ["12w", "12m"];
let words = {};
let language = "en";

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

async function api(path) {
  const reply = await fetch(`api/${path}`, {
    headers: { Authorization: `tma ${launchData()}` },
    credentials: "omit",
  });
  const body = await reply.json();
  if (reply.status === 401 || reply.status === 403) {
    throw new Refused(body.message);
  }
  if (!reply.ok) {
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
  document.getElementById("overview").hidden = false;
}

function failed(error) {
  if (error instanceof Refused) {
    document.getElementById("overview").hidden = true;
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
  document.documentElement.lang = language;
  document.title = `${words.title} · ${me.clinic}`;
  document.getElementById("title").textContent = `${words.title} · ${me.clinic}`;
  say(words.loading);
  await showOverview();
  say("");
  document.body.dataset.ready = "overview";
  // How long the first render took, for the browser test to read.
  window.consoleFirstRenderMs = performance.now();
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch(failed);
});
