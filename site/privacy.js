// Renders the privacy notice from GET /v1/privacy: when it was last
// changed and its sections (HTML the content function rendered from
// Markdown, with raw HTML escaped).

import { dateOf, element, getJson, sectionOf } from "/site.js";

const article = document.getElementById("privacy");
const status = document.getElementById("privacy-status");

function render(notice) {
  const updated = element("p", { class: "updated" }, "Last changed ");
  updated.append(dateOf(notice.updated));
  status.textContent = "";
  status.after(updated, ...notice.sections.map(sectionOf));
}

async function load() {
  status.textContent = "Loading…";
  try {
    render(await getJson("/v1/privacy"));
  } catch {
    status.textContent = "The privacy notice could not be loaded just now. Please try again in a few minutes, or call us.";
  } finally {
    article.removeAttribute("aria-busy");
  }
}

load();
