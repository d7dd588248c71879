// Renders a condition page from GET /v1/conditions/{slug}: its title,
// summary, a list of its sections and the sections themselves (HTML the
// content function rendered from Markdown, with raw HTML escaped).

import { clinicName, dateOf, element, getJson, sectionOf } from "/site.js";

const article = document.getElementById("condition");
const status = document.getElementById("condition-status");

function render(condition, clinic) {
  document.title = `${condition.title} – ${clinic}`;
  document.getElementById("condition-title").textContent = condition.title;
  const lede = element("p", { class: "lede" }, condition.summary);
  const updated = element("p", { class: "updated" }, "Page reviewed ");
  updated.append(dateOf(condition.updated));

  const contents = element("nav", { class: "contents", "aria-labelledby": "contents-title" });
  contents.append(element("h2", { id: "contents-title" }, "On this page"));
  const list = element("ul");
  const sections = [];
  for (const section of condition.sections) {
    const item = element("li");
    item.append(element("a", { href: `#section-${section.id}` }, section.title));
    list.append(item);
    sections.push(sectionOf(section));
  }
  contents.append(list);
  status.textContent = "";
  status.after(lede, updated, contents, ...sections);
}

async function load() {
  status.textContent = "Loading…";
  try {
    const condition = await getJson(`/v1/conditions/${encodeURIComponent(article.dataset.slug)}`);
    render(condition, await clinicName);
  } catch {
    status.textContent = "This page could not be loaded just now. Please try again in a few minutes, or call us.";
  } finally {
    article.removeAttribute("aria-busy");
  }
}

load();
