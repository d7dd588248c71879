// The appointment form, enhanced: it posts JSON with an Idempotency-Key,
// cannot be sent twice at once, shows each field's error next to the field
// and in a summary that screen readers announce, and shows the reference on
// success. Without this script the form still posts as a plain HTML form.

import { API, getJson } from "/site.js";

const form = document.getElementById("booking-form");
const button = document.getElementById("submit");
const summary = document.getElementById("error-summary");
const errorList = document.getElementById("error-list");
const errorNote = document.getElementById("error-note");
const formError = document.getElementById("form-error");
const success = document.getElementById("success");
const insurance = document.getElementById("insurance");
const pageTitle = document.title.replace(/^Error: /, "");

// A patient on a slow line may press Send again, or send the same answers
// after an error: the same answers go with the same key, so they make one
// booking; changed answers get a new key.
let sending = false;
let sentBody = null;
let key = null;

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The form's answers as the booking API's JSON: checkboxes as booleans, blanks left out. */
function answers() {
  const body = {};
  for (const control of form.elements) {
    if (!control.name || control.name === "idempotency_key") continue;
    if (control.type === "radio") {
      if (control.checked) body[control.name] = control.value;
    } else if (control.type === "checkbox") {
      body[control.name] = control.checked;
    } else if (control.value.trim() !== "") {
      body[control.name] = control.value;
    }
  }
  if (body.payment !== "insured") {
    delete body.insurer;
    delete body.policy_number;
  }
  return body;
}

function clearErrors() {
  for (const error of form.querySelectorAll(".error")) error.textContent = "";
  for (const invalid of form.querySelectorAll("[aria-invalid]")) invalid.removeAttribute("aria-invalid");
  errorList.replaceChildren();
  errorNote.textContent = "";
  formError.textContent = "";
  summary.hidden = true;
  document.title = pageTitle;
}

/** The first control a summary link should move to for a field. */
function controlOf(field) {
  const target = document.getElementById(field);
  if (!target) return null;
  return target.matches("fieldset") ? target.querySelector("input") : target;
}

/** A field's label or legend, which names it in the summary; a part of a
 * group (the date of birth's day) is named with its group's legend. */
function labelOf(target) {
  const label = target.matches("fieldset")
    ? target.querySelector("legend")
    : document.querySelector(`label[for="${target.id}"]`);
  const text = label?.textContent.trim() ?? target.id;
  const group = target.matches("fieldset") ? null : target.closest('fieldset[role="group"]');
  const legend = group?.querySelector("legend")?.textContent.trim();
  return legend ? `${legend} – ${text}` : text;
}

/** What is marked invalid for a field: a group's boxes, as a fieldset's
 * own state is not read out. */
function invalidOf(target) {
  return target.matches('fieldset[role="group"]') ? [...target.querySelectorAll("input")] : [target];
}

function showSummary() {
  summary.hidden = false;
  document.title = `Error: ${pageTitle}`;
  summary.focus();
}

/** Each field's message next to it and, as a link to it, in the summary. */
function showFieldErrors(errors) {
  clearErrors();
  for (const { field, message } of errors) {
    const slot = document.getElementById(`${field}-error`);
    const target = document.getElementById(field);
    if (!slot || !target) {
      formError.textContent = message;
      continue;
    }
    slot.textContent = message;
    for (const control of invalidOf(target)) control.setAttribute("aria-invalid", "true");
    const link = document.createElement("a");
    // A group's link leads to its first box, which can take focus.
    link.href = `#${invalidOf(target)[0].id || field}`;
    link.textContent = `${labelOf(target)}: ${message}`;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      controlOf(field)?.focus();
    });
    const item = document.createElement("li");
    item.append(link);
    errorList.append(item);
  }
  showSummary();
}

function showMessage(message) {
  clearErrors();
  formError.textContent = message;
  showSummary();
}

function showSuccess(reference, unchecked) {
  clearErrors();
  form.hidden = true;
  document.getElementById("intro").hidden = true;
  document.getElementById("success-reference").textContent = reference;
  // A request sent without the human check's token is stored for staff to
  // judge, and no confirmation email is sent for it.
  document.getElementById("success-email").hidden = unchecked;
  document.getElementById("success-unchecked").hidden = !unchecked;
  success.hidden = false;
  document.title = `Request received – ${pageTitle.split(" – ").pop()}`;
  success.focus();
}

function retryWording(response) {
  const seconds = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
  if (!Number.isFinite(seconds)) return "Please try again in a few minutes.";
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return `Please try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}

// The human check's token (Cloudflare Turnstile's widget, when the page
// shows one). It is not one of the answers: a retry of the same answers
// keeps its key whatever the token, so the API replays the first booking.
const TOKEN = "cf-turnstile-response";

async function send(event) {
  event.preventDefault();
  if (sending) return;
  const fields = answers();
  const token = fields[TOKEN];
  delete fields[TOKEN];
  // With the check on the page and its script running, a missing token is
  // a check not finished yet: ask for it rather than send a request that
  // gets no confirmation. If the script never ran (blocked), send anyway.
  const checking = document.querySelector(".cf-turnstile") !== null;
  const unchecked = checking && !token;
  if (unchecked && window.turnstile) {
    showMessage("Please finish the check just above the Send button, which tells us you are a person, then send again. Or call us.");
    return;
  }
  const compared = JSON.stringify(fields);
  if (compared !== sentBody) {
    key = newKey();
    sentBody = compared;
  }
  const body = JSON.stringify(token === undefined ? fields : { ...fields, [TOKEN]: token });
  sending = true;
  button.disabled = true;
  button.textContent = "Sending…";
  try {
    const response = await fetch(`${API}/v1/bookings`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "idempotency-key": key },
      body,
    });
    const answer = await response.json().catch(() => null);
    if (response.status === 201 && answer?.reference) {
      showSuccess(answer.reference, unchecked);
    } else if (response.status === 422 && Array.isArray(answer?.errors)) {
      showFieldErrors(answer.errors);
    } else if (response.status === 403 && answer?.type === "urn:frontdesk:problem:human-check-failed") {
      // The token is spent: the widget makes a new one for the next try.
      window.turnstile?.reset();
      showMessage(answer.detail);
    } else if (response.status === 429 || response.status === 503) {
      // The check may have spent the token: the next try needs a new one.
      window.turnstile?.reset();
      showMessage(`${answer?.detail ?? "We cannot take your request just now."} ${retryWording(response)}`);
    } else {
      showMessage(answer?.detail ?? "Something went wrong sending your request. Please try again, or call us.");
    }
  } catch {
    showMessage("We could not send your request. Please check your connection and try again, or call us.");
  } finally {
    sending = false;
    button.disabled = false;
    button.textContent = "Send request";
  }
}

function revealInsurance() {
  insurance.hidden = form.elements.payment.value !== "insured";
}

async function offerConsultants() {
  const consultant = form.elements.consultant;
  const specialty = form.elements.specialty.value;
  const chosen = consultant.value;
  consultant.length = 1; // keep "No preference"
  if (!specialty || specialty === "not_sure") return;
  try {
    const response = await fetch(`${API}/v1/consultants?specialty=${encodeURIComponent(specialty)}`);
    if (!response.ok) return;
    const { consultants } = await response.json();
    for (const { slug, name } of consultants ?? []) {
      consultant.add(new Option(name, slug, false, slug === chosen));
    }
  } catch {
    // "No preference" still books; the clinic matches a consultant.
  }
}

// The conditions a patient may choose come from the content, as the
// booking function accepts them; "I'm not sure" is always offered.
async function offerSpecialties() {
  const specialty = form.elements.specialty;
  const notSure = [...specialty.options].find((o) => o.value === "not_sure");
  try {
    const response = await fetch(`${API}/v1/conditions`);
    if (!response.ok) throw new Error(`conditions: ${response.status}`);
    const { conditions } = await response.json();
    for (const { slug, title } of conditions ?? []) {
      specialty.add(new Option(title, slug), notSure);
    }
    form.dataset.specialties = "loaded";
  } catch {
    // "I'm not sure" still books; the clinic finds the right specialist.
    form.dataset.specialties = "unavailable";
  }
  const wanted = new URLSearchParams(location.search).get("specialty");
  if (wanted && [...specialty.options].some((o) => o.value === wanted)) {
    specialty.value = wanted;
  }
  offerConsultants();
}

// The consent labels and their version come from the content, so the
// words a patient ticks are the words the booking keeps the hash of. If
// they cannot be read, the page's own wording and version stand.
async function showConsentWording() {
  try {
    const wording = await getJson("/v1/consent");
    for (const label of form.querySelectorAll("[data-consent]")) {
      const text = wording[label.dataset.consent];
      if (typeof text === "string") label.textContent = text;
    }
    if (typeof wording.version === "string") form.elements.consent_version.value = wording.version;
    form.dataset.consent = "loaded";
  } catch {
    form.dataset.consent = "unavailable";
  }
}

form.addEventListener("submit", send);
form.elements.specialty.addEventListener("change", offerConsultants);
for (const radio of form.elements.payment) radio.addEventListener("change", revealInsurance);
revealInsurance();
offerSpecialties();
showConsentWording();
