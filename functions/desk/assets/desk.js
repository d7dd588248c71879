// The staff desk's pages: each is a shell that this script fills from the
// desk's API. Everything a patient wrote is set as text (textContent),
// never as HTML. In AWS the session's token lives in sessionStorage, so it
// ends with the tab; locally in localStorage, as the one-time link opens one
// session for the browser. A page restored from history without it shows
// nothing, and a page that needed signing in is returned to afterwards.
(() => {
  "use strict";

  const TOKEN = "frontdesk.desk.token";
  const WHO = "frontdesk.desk.who";
  const PKCE = "frontdesk.desk.pkce";
  const RETURN = "frontdesk.desk.return";
  const main = document.getElementById("main");
  const page = main.dataset.page;
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
  const signInUrl = meta("desk-sign-in");
  const clientId = meta("desk-client");
  const local = signInUrl === "local";
  // In AWS the session is the tab's (a new tab signs in again with a
  // passkey); locally the one-time link opens one session for the browser,
  // so a link opened in a new tab (the staff email's) still works.
  const store = local ? localStorage : sessionStorage;
  const status = main.querySelector(".status");
  const heading = main.querySelector("h1");

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function say(message) {
    status.textContent = message;
  }

  /** Removes everything a page showed, keeping its heading and status line. */
  function clear() {
    for (const node of [...main.children]) {
      if (node !== heading && node !== status) node.remove();
    }
  }

  /** A desk page to come back to after signing in, or null. */
  function deskPath(path) {
    return typeof path === "string" && /^\/desk(\/[A-Za-z0-9\-_/]*)?(\?[A-Za-z0-9=&%_.\-]*)?$/.test(path) &&
      !path.startsWith("/desk/sign") ? path : null;
  }

  function toSignIn() {
    store.removeItem(TOKEN);
    store.removeItem(WHO);
    const here = deskPath(location.pathname + location.search);
    if (here) sessionStorage.setItem(RETURN, here);
    location.replace("/desk/sign-in");
  }

  class SignedOut extends Error {}

  /** A call to the desk's API with the session's token; a 401 ends the session. */
  async function api(path, options = {}) {
    const token = store.getItem(TOKEN);
    if (!token) {
      toSignIn();
      throw new SignedOut();
    }
    const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: options.method ?? "GET",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      headers,
      cache: "no-store",
      credentials: "omit",
    });
    if (response.status === 401) {
      toSignIn();
      throw new SignedOut();
    }
    return response;
  }

  async function json(response) {
    try {
      return await response.json();
    } catch {
      return {};
    }
  }

  function failed(error) {
    if (error instanceof SignedOut) return;
    say("The desk could not be reached. Please try again in a moment.");
  }

  // --- who is signed in -----------------------------------------------------

  function showWho() {
    const who = JSON.parse(store.getItem(WHO) ?? "null");
    if (!who) return;
    const box = document.querySelector(".who");
    box.querySelector(".who-email").textContent = `Signed in as ${who.email}`;
    box.hidden = false;
    for (const item of document.querySelectorAll(".admin-only")) item.hidden = !who.admin;
    box.querySelector(".sign-out").addEventListener("click", signOut);
  }

  async function signOut() {
    try {
      await api("/v1/desk/sign-out", { method: "POST" });
    } catch (error) {
      if (error instanceof SignedOut) return;
    }
    signedOutHere();
    clear();
    if (local) {
      location.replace("/desk/signed-out");
    } else {
      const back = encodeURIComponent(`${location.origin}/desk/signed-out`);
      location.replace(`${signInUrl}/logout?client_id=${encodeURIComponent(clientId)}&logout_uri=${back}`);
    }
  }

  /** Forgets the session in this browser. */
  function signedOutHere() {
    for (const key of [TOKEN, WHO]) {
      sessionStorage.removeItem(key);
      localStorage.removeItem(key);
    }
    sessionStorage.removeItem(RETURN);
  }

  async function recordSignIn(token) {
    store.setItem(TOKEN, token);
    const response = await api("/v1/desk/sign-in", { method: "POST" });
    if (!response.ok) {
      store.removeItem(TOKEN);
      say(response.status === 403
        ? "Your account is not in a desk group. Ask an admin to add you."
        : "Signing in did not work. Please try again.");
      return;
    }
    store.setItem(WHO, JSON.stringify(await json(response)));
    const back = deskPath(sessionStorage.getItem(RETURN));
    sessionStorage.removeItem(RETURN);
    location.replace(back ?? "/desk");
  }

  // --- signing in -------------------------------------------------------------

  function base64url(bytes) {
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function random() {
    return base64url(crypto.getRandomValues(new Uint8Array(32)));
  }

  async function signInPage() {
    if (local) {
      const secret = location.hash.slice(1);
      // The secret leaves the address bar and the history at once.
      history.replaceState(null, "", location.pathname);
      if (!secret) {
        main.append(el("p", {}, "Open the one-time sign-in link that ", el("code", {}, "frontdesk serve"), " printed when it started."));
        return;
      }
      say("Signing in…");
      const response = await fetch("/v1/desk/local-session", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ secret }),
        cache: "no-store",
      });
      if (!response.ok) {
        say("This sign-in link has been used already. Restart frontdesk serve for a new one.");
        return;
      }
      await recordSignIn((await json(response)).token);
      return;
    }
    const query = new URLSearchParams(location.search);
    const code = query.get("code");
    if (code) {
      history.replaceState(null, "", location.pathname);
      const pkce = JSON.parse(sessionStorage.getItem(PKCE) ?? "null");
      sessionStorage.removeItem(PKCE);
      if (!pkce || pkce.state !== query.get("state")) {
        say("That sign-in did not start here. Please sign in again.");
      } else {
        say("Signing in…");
        const response = await fetch(`${signInUrl}/oauth2/token`, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "authorization_code",
            client_id: clientId,
            code,
            redirect_uri: `${location.origin}/desk/sign-in`,
            code_verifier: pkce.verifier,
          }),
          cache: "no-store",
        });
        const tokens = response.ok ? await json(response) : {};
        if (tokens.id_token) {
          await recordSignIn(tokens.id_token);
          return;
        }
        say("Signing in did not work. Please try again.");
      }
    }
    const button = el("button", { type: "button" }, "Sign in");
    button.addEventListener("click", async () => {
      const verifier = random();
      const state = random();
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
      sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
      const to = new URLSearchParams({
        response_type: "code",
        client_id: clientId,
        redirect_uri: `${location.origin}/desk/sign-in`,
        scope: "openid email",
        code_challenge: base64url(digest),
        code_challenge_method: "S256",
        state,
      });
      location.assign(`${signInUrl}/oauth2/authorize?${to}`);
    });
    main.append(el("p", {}, "Sign in with your passkey, or an emailed code the first time."), button);
  }

  function signedOutPage() {
    signedOutHere();
    main.append(el("p", {}, "You are signed out. ", el("a", { href: "/desk/sign-in" }, "Sign in again")));
  }

  // --- the inbox --------------------------------------------------------------

  async function options(path, list, label) {
    try {
      const response = await fetch(path, { headers: { Accept: "application/json" } });
      if (!response.ok) return [];
      return ((await json(response))[list] ?? []).map((item) => [item.slug, item[label]]);
    } catch {
      return [];
    }
  }

  function select(name, label, choices, chosen) {
    const id = `field-${name}`;
    return el("p", {},
      el("label", { for: id }, label), " ",
      el("select", { id, name },
        choices.map(([value, text]) => el("option", { value, selected: value === chosen }, text))));
  }

  async function inboxPage() {
    const query = new URLSearchParams(location.search);
    const state = query.get("state") || "new";
    const specialty = query.get("specialty") || "";
    const asked = new URLSearchParams({ state });
    if (specialty) asked.set("specialty", specialty);
    if (query.get("after")) asked.set("after", query.get("after"));
    const [response, conditions] = await Promise.all([
      api(`/v1/desk/inbox?${asked}`),
      options("/v1/conditions", "conditions", "title"),
    ]);
    const body = await json(response);
    if (!response.ok) {
      say(body.detail ?? "The inbox could not be read.");
      return;
    }
    const find = el("form", { class: "find", role: "search", "aria-label": "Find a request" },
      el("p", {}, el("label", { for: "field-reference" }, "Reference"), " ",
        el("input", { id: "field-reference", name: "reference", autocomplete: "off", spellcheck: "false", placeholder: "CCL-XXXX-XXXX" }),
        " ", el("button", { type: "submit" }, "Open")));
    find.addEventListener("submit", (event) => {
      event.preventDefault();
      const reference = find.elements.reference.value.trim().toUpperCase();
      if (reference) location.assign(`/desk/requests/${encodeURIComponent(reference)}`);
    });
    const filter = el("form", { class: "filter", method: "get", action: "/desk", "aria-label": "Filter the inbox" },
      select("state", "State", body.states.map((s) => [s.state, s.label]), state),
      select("specialty", "Specialty", [["", "Any"], ...conditions, ["not_sure", "Not sure"]], specialty),
      el("p", {}, el("button", { type: "submit" }, "Show")));
    const label = body.states.find((s) => s.state === state)?.label ?? state;
    const table = el("table", {},
      el("caption", {}, `${label} requests, newest first`),
      el("thead", {}, el("tr", {},
        ["Reference", "Received", "Specialty", "State"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, body.rows.map((row) => el("tr", {},
        el("th", { scope: "row" }, el("a", { href: `/desk/requests/${encodeURIComponent(row.reference)}` }, row.reference)),
        el("td", {}, row.received.london),
        el("td", {}, row.specialty_label),
        el("td", {}, row.state_label)))));
    main.append(find, filter);
    if (body.rows.length === 0) {
      main.append(el("p", {}, `No ${label.toLowerCase()} requests.`));
    } else {
      main.append(table);
    }
    if (body.next) {
      const next = new URLSearchParams({ state, after: body.next });
      if (specialty) next.set("specialty", specialty);
      main.append(el("p", {}, el("a", { href: `/desk?${next}`, rel: "next" }, "Older requests")));
    }
  }

  // --- a request ----------------------------------------------------------------

  function section(title, ...content) {
    const id = `section-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
    return el("section", { "aria-labelledby": id }, el("h2", { id }, title), ...content);
  }

  const STATUSES = {
    not_sent: "Not sent yet", sent: "Sent (no report yet)", held: "Held: waiting on the operator",
    failed: "Failed", withheld: "Not sent on purpose", not_needed: "Not needed", delayed: "Delayed", delivered: "Delivered", bounced: "Bounced",
    complained: "Marked as spam", rejected: "Rejected",
  };

  function moveForm(request, consultants, reload) {
    const form = el("form", { class: "move", novalidate: true });
    const radios = request.next.map((next, i) => el("p", {},
      el("input", { type: "radio", name: "to", id: `to-${next.state}`, value: next.state, required: true, checked: i === 0 && request.next.length === 1 }),
      " ", el("label", { for: `to-${next.state}` }, next.label)));
    const appointment = el("fieldset", { class: "appointment", hidden: true },
      el("legend", {}, "The appointment (London time)"),
      el("p", {}, el("label", { for: "field-date" }, "Date"), " ",
        el("span", { id: "hint-date", class: "hint" }, "as year-month-day, for example 2027-07-01"), " ",
        el("input", { id: "field-date", name: "date", inputmode: "numeric", autocomplete: "off", "aria-describedby": "hint-date", size: 10 })),
      el("p", {}, el("label", { for: "field-time" }, "Time"), " ",
        el("span", { id: "hint-time", class: "hint" }, "24-hour clock, for example 14:30"), " ",
        el("input", { id: "field-time", name: "time", inputmode: "numeric", autocomplete: "off", "aria-describedby": "hint-time", size: 5 })),
      select("zone", "Which 01:00 to 02:00, on the night the clocks go back", [["", "Not that night"], ["BST", "The first (BST)"], ["GMT", "The second (GMT)"]], ""),
      el("p", {}, el("label", { for: "field-place" }, "Place"), " ", el("input", { id: "field-place", name: "place", maxlength: 200, autocomplete: "off" })),
      consultants.length
        ? select("consultant", "Consultant", [["", "Not yet known"], ...consultants], "")
        : null);
    const errors = el("div", { class: "errors", tabindex: "-1" });
    form.append(
      el("fieldset", {}, el("legend", {}, "Move it to"), radios),
      appointment,
      el("p", {}, el("label", { for: "field-note" }, "Note (optional)"), el("br"),
        el("textarea", { id: "field-note", name: "note", rows: 3, maxlength: 2000 })),
      errors,
      el("p", {}, el("button", { type: "submit" }, "Save")));
    const showAppointment = () => {
      appointment.hidden = form.elements.to.value !== "booked";
    };
    form.addEventListener("change", showAppointment);
    showAppointment();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      errors.replaceChildren();
      const to = form.elements.to.value;
      if (!to) {
        errors.append(el("p", {}, "Choose where to move it."));
        errors.focus();
        return;
      }
      const move = { version: request.version, from: request.state, to };
      const note = form.elements.note.value;
      if (note.trim()) move.note = note;
      if (to === "booked") {
        move.appointment = {
          date: form.elements.date.value,
          time: form.elements.time.value,
          place: form.elements.place.value,
        };
        if (form.elements.zone.value) move.appointment.zone = form.elements.zone.value;
        if (form.elements.consultant?.value) move.appointment.consultant = form.elements.consultant.value;
      }
      try {
        const response = await api(`/v1/desk/requests/${encodeURIComponent(request.reference)}/moves`, { method: "POST", body: move });
        const body = await json(response);
        if (response.ok) {
          await reload(`Saved: the request is now ${request.next.find((n) => n.state === to)?.label ?? to}.`);
        } else if (response.status === 409) {
          await reload(body.detail ?? "Someone else changed this request first. Nothing you sent was saved.");
        } else {
          errors.append(el("p", {}, body.detail ?? "That could not be saved."),
            el("ul", {}, (body.errors ?? []).map((e) => el("li", {}, `${e.field}: ${e.message}`))));
          errors.focus();
        }
      } catch (error) {
        failed(error);
      }
    });
    return form;
  }

  async function requestPage() {
    const reference = decodeURIComponent(location.pathname.split("/").pop());
    const consultants = await options("/v1/consultants", "consultants", "name");
    const who = JSON.parse(store.getItem(WHO) ?? "null");
    const load = async (message) => {
      const response = await api(`/v1/desk/requests/${encodeURIComponent(reference)}`);
      const request = await json(response);
      clear();
      if (!response.ok) {
        say(request.detail ?? "The request could not be read.");
        return;
      }
      heading.textContent = `Request ${request.reference}`;
      document.title = `Request ${request.reference} · Front desk`;
      say(message ?? "");
      const answers = el("dl", {}, request.answers.map((a) => [el("dt", {}, a.label), el("dd", {}, a.value)]));
      const message_ = request.message
        ? el("div", {}, el("h3", {}, "Their message"), el("p", { class: "message" }, request.message))
        : el("p", {}, "No message.");
      const emails = el("table", {},
        el("caption", {}, "Each email and what the mail service last reported"),
        el("thead", {}, el("tr", {}, ["Email", "Where it stands", "Sent", "Reported"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, request.emails.map((e) => el("tr", {},
          el("th", { scope: "row" }, e.label),
          el("td", {}, STATUSES[e.status] ?? e.status, e.detail ? ` (${e.detail})` : ""),
          el("td", {}, e.sent?.london ?? "–"),
          el("td", {}, e.reported?.london ?? "–")))));
      const history = request.history.length
        ? el("ol", { class: "history" }, request.history.map((step) => el("li", {},
          el("p", {}, `${step.at.london}: ${step.by} moved it to ${step.to_label}.`),
          step.appointment
            ? el("p", {}, `Appointment: ${step.appointment.at.london}, ${step.appointment.place}`,
              step.appointment.consultant ? `, with ${consultants.find(([slug]) => slug === step.appointment.consultant)?.[1] ?? step.appointment.consultant}` : "")
            : null,
          step.note ? el("p", { class: "note" }, step.note) : null)))
        : el("p", {}, "Nobody has moved it yet.");
      const repeat = request.repeat_of
        ? [el("p", { class: "repeat" }, "The same details were sent in the day before, as ",
          el("a", { href: `/desk/requests/${encodeURIComponent(request.repeat_of)}` }, request.repeat_of),
          ": one person asking twice, most likely.")]
        : [];
      main.append(
        el("p", { class: "state" }, `Received ${request.received.london}. `, el("strong", {}, `State: ${request.state_label}.`)),
        ...repeat,
        section("The request", answers, message_),
        section("Consent", el("p", {}, `Consent to be contacted given ${request.consent.given.london}, to the wording of version ${request.consent.wording_version}.`)),
        section("Emails", emails),
        section("History", history));
      if (request.next.length) {
        main.append(section("Move it", moveForm(request, consultants, load)));
      } else {
        main.append(section("Move it", el("p", {}, "This request is finished: it cannot be moved again.")));
      }
      if (who?.admin) {
        const button = el("button", { type: "button" }, "Show its audit trail");
        const trail = el("div");
        button.addEventListener("click", async () => {
          try {
            const response = await api(`/v1/desk/requests/${encodeURIComponent(reference)}/audit`);
            const body = await json(response);
            trail.replaceChildren(response.ok ? auditTable(body.entries, "Who looked at or changed this request") : el("p", {}, body.detail ?? ""));
          } catch (error) {
            failed(error);
          }
        });
        main.append(section("Audit trail", button, trail));
      }
      if (message) main.focus();
    };
    await load();
  }

  // --- the audit trail ------------------------------------------------------------

  function auditTable(entries, caption) {
    return el("table", {},
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, ["When", "Who", "What", "Request"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, entries.map((e) => el("tr", {},
        el("td", {}, e.at.london),
        el("td", {}, e.by),
        el("td", {}, e.what),
        el("td", {}, e.reference ? el("a", { href: `/desk/requests/${encodeURIComponent(e.reference)}` }, e.reference) : "–")))));
  }

  async function auditPage() {
    const after = new URLSearchParams(location.search).get("after");
    const response = await api(`/v1/desk/audit${after ? `?after=${encodeURIComponent(after)}` : ""}`);
    const body = await json(response);
    if (!response.ok) {
      say(body.detail ?? "The audit trail could not be read.");
      return;
    }
    main.append(auditTable(body.entries, "Every look and change on the desk, newest first"));
    if (body.next) main.append(el("p", {}, el("a", { href: `/desk/audit?after=${encodeURIComponent(body.next)}`, rel: "next" }, "Older entries")));
  }

  // --- a person's data (admins) ------------------------------------------------------
  // The email address and phone searched for stay in this page's memory:
  // they are sent in request bodies, never put in a URL or stored.

  /** Field errors of a refused request, as a list. */
  function problems(body, fallback) {
    return [el("p", {}, body.detail ?? fallback),
      el("ul", {}, (body.errors ?? []).map((e) => el("li", {}, `${e.field}: ${e.message}`)))];
  }

  const MATCHED = { email: "email address", phone: "phone number" };
  const CHANNELS = { email: "News by email", sms: "News by text message" };
  let downloads = [];

  /** Links that save `text` as files, made in the browser: nothing is fetched again. */
  function download(text, type, name, label) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    downloads.push(url);
    return el("a", { href: url, download: name, class: "download" }, label);
  }

  function forget() {
    for (const url of downloads) URL.revokeObjectURL(url);
    downloads = [];
  }

  async function peoplePage() {
    const who = JSON.parse(store.getItem(WHO) ?? "null");
    if (!who?.admin) {
      say("Only an admin can find, export or erase a person's data.");
      return;
    }
    const form = el("form", { class: "person", novalidate: true, autocomplete: "off", "aria-label": "Find a person's data" },
      el("p", {}, "Find every booking whose booker gave this email address or phone number, to answer a request to see or erase their data. Each search is on the audit trail."),
      el("p", {}, el("label", { for: "field-email" }, "Email address"), " ",
        el("input", { id: "field-email", name: "email", type: "email", spellcheck: "false", size: 32 })),
      el("p", {}, el("label", { for: "field-phone" }, "Phone number"), " ",
        el("input", { id: "field-phone", name: "phone", type: "tel", size: 16 })),
      el("p", {}, el("button", { type: "submit" }, "Find")));
    const result = el("div", { class: "result", tabindex: "-1" });
    main.append(form, result);
    window.addEventListener("pagehide", forget);

    const person = () => {
      const asked = {};
      if (form.elements.email.value.trim()) asked.email = form.elements.email.value;
      if (form.elements.phone.value.trim()) asked.phone = form.elements.phone.value;
      return asked;
    };

    const show = async (message) => {
      forget();
      const asked = person();
      const response = await api("/v1/desk/subjects/find", { method: "POST", body: asked });
      const found = await json(response);
      result.replaceChildren();
      if (!response.ok) {
        result.append(...problems(found, "The search could not be done."));
        result.focus();
        return;
      }
      say(message ?? `${found.bookings.length} booking(s) found.`);
      const bookings = found.bookings.length
        ? el("table", {},
          el("caption", {}, "The bookings found, oldest first: check that each is this person's, as a phone or an inbox may be shared"),
          el("thead", {}, el("tr", {}, ["Reference", "Received", "Found by", "Made for"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, found.bookings.map((b) => el("tr", {},
            el("th", { scope: "row" }, el("a", { href: `/desk/requests/${encodeURIComponent(b.reference)}` }, b.reference)),
            el("td", {}, b.received.london, b.past_retention ? " (past its retention: deleted soon, and not exported)" : ""),
            el("td", {}, b.matched_by.map((m) => MATCHED[m] ?? m).join(" and ")),
            el("td", {}, b.for_someone_else ? "Someone else, whose details it holds too" : "Themselves")))))
        : el("p", {}, "No bookings are held for this email address or phone number.");
      const optIns = found.opt_ins.length
        ? el("ul", {}, found.opt_ins.map((o) => el("li", {}, `${CHANNELS[o.channel] ?? o.channel}, given ${o.given.london} with ${o.came_with}`)))
        : el("p", {}, "No opt-ins to the clinic's news.");

      const exportButton = el("button", { type: "button", class: "export" }, "Export everything held");
      const exported = el("div", { class: "exported" });
      exportButton.addEventListener("click", async () => {
        try {
          const response = await api("/v1/desk/subjects/export", { method: "POST", body: asked });
          const made = await json(response);
          if (!response.ok) {
            exported.replaceChildren(...problems(made, "The export could not be made."));
            return;
          }
          exported.replaceChildren(
            el("p", {}, `Exported ${made.bookings} booking(s); each export is on the audit trail. Save both files and send them to the person securely:`),
            el("ul", {},
              el("li", {}, download(made.json, "application/json", `${made.file}.json`, "The JSON document")),
              el("li", {}, download(made.html, "text/html", `${made.file}.html`, "The readable page"))));
        } catch (error) {
          failed(error);
        }
      });

      const confirmWith = MATCHED[found.confirm_with];
      const erase = el("form", { class: "erase", novalidate: true, autocomplete: "off" },
        el("p", {}, `Erasing deletes ${found.bookings.length} booking(s) above, with their emails' state, notes and history, and the opt-ins listed. It cannot be undone. An entry on the audit trail takes each booking's place, with the reason.`),
        el("p", {}, el("label", { for: "field-reason" }, "Reason (kept on the audit trail: name no one)"), el("br"),
          el("textarea", { id: "field-reason", name: "reason", rows: 2, maxlength: 500 })),
        el("p", {}, el("label", { for: "field-confirm" }, `To confirm, type the ${confirmWith} again`), " ",
          el("input", { id: "field-confirm", name: "confirm", spellcheck: "false", size: 32 })),
        el("div", { class: "errors", tabindex: "-1" }),
        el("p", {}, el("button", { type: "submit", class: "danger" }, "Erase")));
      const errors = erase.querySelector(".errors");
      erase.addEventListener("submit", async (event) => {
        event.preventDefault();
        errors.replaceChildren();
        const body = {
          ...asked,
          references: found.bookings.map((b) => b.reference),
          confirm: erase.elements.confirm.value,
          reason: erase.elements.reason.value,
        };
        try {
          const response = await api("/v1/desk/subjects/erase", { method: "POST", body });
          const done = await json(response);
          if (response.status === 409) {
            await show(done.detail);
            return;
          }
          if (!response.ok) {
            // A refused request (422) erased nothing; any other failure may
            // have come part way through.
            errors.append(...problems(done, response.status === 422
              ? "Nothing was erased."
              : "The erasure may not have finished: search again to see what is still held."));
            errors.focus();
            return;
          }
          forget();
          const held = done.still_held;
          const unfinished = done.stopped || held === null || held.length > 0;
          result.replaceChildren(
            el("h2", {}, unfinished ? "Partly erased" : "Erased"),
            el("p", {}, `${done.erased.length} booking(s) erased: ${done.erased.join(", ") || "none"}. ${done.opt_ins_removed} opt-in(s) to the clinic's news removed.`),
            done.stopped ? el("p", { class: "stopped" }, done.stopped.detail) : null,
            held === null
              ? el("p", { class: "stopped" }, "Whether anything is still held could not be read just now: search again.")
              : held.length
                ? el("p", { class: "stopped" }, `Still held for this person: ${held.join(", ")}. Search again, check them, and erase them.`)
                : null,
            el("h3", {}, "Not erased, for your answer to the person"),
            el("ul", {}, done.not_erased.map((line) => el("li", {}, line))));
          say(unfinished ? "Not everything was erased: see below." : "Erased.");
          result.focus();
        } catch (error) {
          failed(error);
        }
      });

      result.append(
        section("Bookings", bookings),
        section("Opt-ins to the clinic's news", optIns),
        section("Export", exportButton, exported),
        found.bookings.length || found.opt_ins.length
          ? section("Erase", erase)
          : section("Erase", el("p", {}, "Nothing is held to erase.")));
      result.focus();
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await show();
      } catch (error) {
        failed(error);
      }
    });
  }

  // --- start ------------------------------------------------------------------------

  const PAGES = { inbox: inboxPage, request: requestPage, audit: auditPage, people: peoplePage, "sign-in": signInPage, "signed-out": signedOutPage };

  // A page brought back from the history after signing out shows nothing.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && !store.getItem(TOKEN) && page !== "sign-in" && page !== "signed-out") {
      clear();
      toSignIn();
    }
  });

  // The sign-in link opened over the sign-in page changes only its
  // fragment: no page loads, so the page signs in again from it.
  window.addEventListener("hashchange", () => {
    if (page === "sign-in" && location.hash.length > 1) {
      clear();
      signInPage().catch(failed);
    }
  });

  showWho();
  Promise.resolve(PAGES[page]?.()).catch(failed);
})();
