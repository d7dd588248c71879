// What every page of the example site shares: where the frontdesk API is,
// reading JSON from it, and the clinic's contact details in the footer.

/** The API's base URL from <meta name="frontdesk-api">; empty means this origin. */
export const API = (document.querySelector('meta[name="frontdesk-api"]')?.content ?? "").replace(/\/$/, "");

/** GETs `path` from the content API and returns its JSON, or throws. */
export async function getJson(path) {
  const response = await fetch(API + path, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

/**
 * Fills [data-site] elements with the clinic's details from GET /v1/site,
 * and gives the clinic's name: the published one, or, when the API cannot
 * be read, the one the page carries.
 */
async function fillSite() {
  const carried = document.querySelector('[data-site="name"]')?.textContent ?? "";
  let site;
  try {
    site = await getJson("/v1/site");
  } catch {
    return carried; // The page already carries the details it was published with.
  }
  for (const element of document.querySelectorAll("[data-site]")) {
    const value = site[element.dataset.site];
    if (typeof value !== "string") continue;
    element.textContent = value;
    if (element.dataset.site === "phone" && site.phone_e164) element.href = `tel:${site.phone_e164}`;
  }
  return typeof site.name === "string" ? site.name : carried;
}

/** A new element with these attributes and, if given, this text. */
export function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A `##` section of a content page, its heading an anchor `section-<id>`;
 * its HTML is the content function's, rendered from Markdown with raw HTML
 * escaped. */
export function sectionOf(section) {
  const id = `section-${section.id}`;
  const block = element("section", { "aria-labelledby": id });
  block.append(element("h2", { id }, section.title));
  const body = element("div");
  body.innerHTML = section.html;
  block.append(body);
  return block;
}

/** A `YYYY-MM-DD` date as a <time>, read the British way (24 November 2026). */
export function dateOf(day) {
  return element("time", { datetime: day },
    new Date(`${day}T12:00:00Z`).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" }));
}

/** The clinic's name, once the footer is filled. */
export const clinicName = fillSite();
