// Warden console: a small client of the admin API (/api/admin/v1). The admin key lives in
// this tab's sessionStorage only and is sent as a bearer token.
"use strict";

const API = "/api/admin/v1";
const $ = (id) => document.getElementById(id);
const views = ["signin", "users", "user", "pending", "keys", "audit"];
const state = { app: "", offset: 0, limit: 20, total: 0, user: null };

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function show(view) {
  for (const v of views) $(v).hidden = v !== view;
  $("nav").hidden = view === "signin";
}

async function call(method, path, body) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem("warden-admin-key") };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    sessionStorage.removeItem("warden-admin-key");
    show("signin");
    throw new Error("the admin key was refused");
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error((data && data.error) || res.statusText);
  return data;
}

// act runs fn and says done when it worked, or failed (what could not be done) and why.
async function act(done, failed, fn) {
  try {
    await fn();
    if (done) say(done);
  } catch (err) {
    say(`${failed || "The request failed"}: ${err.message}`, true);
  }
}

function cell(row, label, content) {
  const td = document.createElement("td");
  td.dataset.label = label;
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  row.append(td);
  return td;
}

function button(text, cls, onClick, aria) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (cls) b.className = cls;
  if (aria) b.setAttribute("aria-label", aria);
  b.addEventListener("click", onClick);
  return b;
}

const when = (t) => (t && !t.startsWith("0001") ? new Date(t).toLocaleString() : "—");
const appPath = (p) => `/apps/${encodeURIComponent(state.app)}${p}`;
function userLabel(u) {
  const email = u.data && u.data.email;
  return email ? `${email} (${u.id})` : u.id;
}

async function signIn(key) {
  sessionStorage.setItem("warden-admin-key", key);
  const apps = await call("GET", "/apps");
  const sel = $("app");
  sel.replaceChildren();
  for (const a of apps || []) {
    const o = document.createElement("option");
    o.value = a.client_app_id;
    o.textContent = a.name ? `${a.name} (${a.client_app_id})` : a.client_app_id;
    sel.append(o);
  }
  state.app = sel.value;
  await loadUsers();
}

async function loadUsers() {
  const q = new URLSearchParams({ limit: state.limit, offset: state.offset, order: "desc" });
  if ($("search").value) q.set("search", $("search").value);
  if ($("state").value) q.set("state", $("state").value);
  const page = await call("GET", appPath("/users?" + q));
  state.total = page.total;
  const body = $("users-body");
  body.replaceChildren();
  for (const u of page.users) {
    const tr = document.createElement("tr");
    const a = document.createElement("a");
    a.href = "#user/" + u.id;
    a.textContent = userLabel(u);
    a.addEventListener("click", (e) => { e.preventDefault(); act("", "Could not open the user", () => openUser(u.id)); });
    cell(tr, "User", a);
    cell(tr, "Providers", u.identities.map((i) => i.provider_type).join(", "));
    const st = cell(tr, "State", u.disabled ? "disabled" : "enabled");
    if (u.disabled) st.className = "disabled";
    cell(tr, "Created", when(u.created_at));
    cell(tr, "Last login", when(u.last_login));
    body.append(tr);
  }
  const last = Math.min(state.offset + page.users.length, state.total);
  $("users-count").textContent = state.total ? `${state.offset + 1}–${last} of ${state.total}` : "No users match.";
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= state.total;
  show("users");
}

async function openUser(id) {
  const d = await call("GET", appPath("/users/" + encodeURIComponent(id)));
  state.user = d.user;
  $("user-title").textContent = "User " + (d.email || d.user.id);
  const facts = $("user-facts");
  facts.replaceChildren();
  for (const [k, v] of [["Id", d.user.id], ["Email", d.email || "—"], ["Type", d.user.type], ["State", d.user.disabled ? "disabled" : "enabled"],
    ["Created", when(d.user.created_at)], ["Last login", when(d.user.last_login)]]) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    facts.append(dt, dd);
  }
  $("disable").hidden = d.user.disabled;
  $("enable").hidden = !d.user.disabled;
  const ids = $("identities");
  ids.replaceChildren();
  for (const i of d.user.identities) {
    const tr = document.createElement("tr");
    cell(tr, "Provider", i.provider_type);
    cell(tr, "Id", i.id);
    cell(tr, "Data", JSON.stringify(i.data));
    ids.append(tr);
  }
  const ss = $("sessions");
  ss.replaceChildren();
  for (const s of d.sessions) {
    const tr = document.createElement("tr");
    const dev = s.device || {};
    cell(tr, "Device", [dev.platform, dev.platform_version, dev.sdk_version && "SDK " + dev.sdk_version].filter(Boolean).join(" ") || s.device_id);
    cell(tr, "Provider", s.provider_type);
    cell(tr, "Last used", when(s.last_used_at));
    cell(tr, "Expires", when(s.expires_at));
    ss.append(tr);
  }
  if (!d.sessions.length) {
    const tr = document.createElement("tr");
    cell(tr, "Sessions", "No session: the user must log in.");
    ss.append(tr);
  }
  const push = $("push");
  push.replaceChildren();
  for (const r of d.push_registrations || []) {
    const tr = document.createElement("tr");
    cell(tr, "Device", r.device_id);
    cell(tr, "Service", r.service);
    cell(tr, "Token", r.registration_token.length > 24 ? r.registration_token.slice(0, 24) + "…" : r.registration_token);
    cell(tr, "Updated", when(r.updated_at));
    push.append(tr);
  }
  if (!(d.push_registrations || []).length) {
    const tr = document.createElement("tr");
    cell(tr, "Push registrations", "No device registered for push notifications (Warden keeps registrations; it sends no pushes).");
    push.append(tr);
  }
  $("custom-data").textContent = JSON.stringify(d.custom_data, null, 2);
  show("user");
}

async function loadPending() {
  const list = await call("GET", appPath("/pending_users"));
  const body = $("pending-body");
  body.replaceChildren();
  for (const p of list) {
    const tr = document.createElement("tr");
    cell(tr, "Email", p.email);
    cell(tr, "Registered", when(p.created_at));
    const td = cell(tr, "Actions", "");
    td.append(
      button("Confirm", "", () => act(`Confirmed ${p.email}`, async () => { await call("POST", appPath("/pending_users/confirm"), { email: p.email }); await loadPending(); }), `Confirm ${p.email}`),
      button("Resend mail", "secondary", () => act(`Sent a confirmation mail to ${p.email}`, () => call("POST", appPath("/pending_users/resend"), { email: p.email })), `Resend the confirmation mail to ${p.email}`),
    );
    body.append(tr);
  }
  if (!list.length) {
    const tr = document.createElement("tr");
    cell(tr, "Pending", "No account awaits confirmation.");
    body.append(tr);
  }
  show("pending");
}

async function loadKeys() {
  const keys = await call("GET", appPath("/api_keys"));
  const body = $("keys-body");
  body.replaceChildren();
  for (const k of keys) {
    const tr = document.createElement("tr");
    cell(tr, "Name", k.name);
    cell(tr, "Id", k._id);
    cell(tr, "Actions", button("Delete", "danger", () => {
      if (!confirm(`Delete the API key ${k.name}? Programs using it stop working.`)) return;
      act(`Deleted the key ${k.name}`, async () => { await call("DELETE", appPath("/api_keys/" + k._id)); await loadKeys(); });
    }, `Delete the API key ${k.name}`));
    body.append(tr);
  }
  show("keys");
}

async function loadAudit() {
  const q = new URLSearchParams({ limit: 200 });
  if ($("audit-action").value) q.set("action", $("audit-action").value);
  const page = await call("GET", appPath("/audit?" + q));
  const body = $("audit-body");
  body.replaceChildren();
  for (const e of page.events) {
    const tr = document.createElement("tr");
    cell(tr, "When", when(e.at));
    cell(tr, "Actor", e.actor);
    cell(tr, "Action", e.action);
    cell(tr, "Target", e.target);
    cell(tr, "Outcome", e.outcome);
    cell(tr, "Detail", e.detail);
    cell(tr, "Address", e.ip);
    body.append(tr);
  }
  show("audit");
}

$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  act("Signed in", "Sign-in failed", () => signIn($("key").value.trim()));
  $("key").value = "";
});
$("signout").addEventListener("click", () => { sessionStorage.removeItem("warden-admin-key"); show("signin"); say("Signed out"); });
$("app").addEventListener("change", () => { state.app = $("app").value; state.offset = 0; act("", "Could not load the users", loadUsers); });
for (const b of document.querySelectorAll("nav [data-view]")) {
  b.addEventListener("click", () => {
    const v = b.dataset.view;
    act("", "Could not load this page", v === "users" ? loadUsers : v === "pending" ? loadPending : v === "keys" ? loadKeys : loadAudit);
  });
}
$("search-form").addEventListener("submit", (e) => { e.preventDefault(); state.offset = 0; act("", "Could not load the users", loadUsers); });
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); act("", "Could not load the users", loadUsers); });
$("next").addEventListener("click", () => { state.offset += state.limit; act("", "Could not load the users", loadUsers); });
$("create-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const email = $("new-email").value.trim();
  act(`Created ${email}`, async () => {
    await call("POST", appPath("/users"), { email, password: $("new-password").value });
    $("new-email").value = ""; $("new-password").value = "";
    await loadUsers();
  });
});
$("disable").addEventListener("click", () => act("Disabled the user: their sessions ended", "Could not disable the user", async () => { await call("PUT", appPath(`/users/${state.user.id}/disable`)); await openUser(state.user.id); }));
$("enable").addEventListener("click", () => act("Enabled the user", "Could not enable the user", async () => { await call("PUT", appPath(`/users/${state.user.id}/enable`)); await openUser(state.user.id); }));
$("revoke").addEventListener("click", () => act("Ended every session of the user", "Could not end the sessions", async () => { await call("POST", appPath(`/users/${state.user.id}/logout`)); await openUser(state.user.id); }));
$("delete").addEventListener("click", () => {
  if (!confirm(`Delete the user ${state.user.id} with all identities and sessions? This cannot be undone.`)) return;
  act("Deleted the user", "Could not delete the user", async () => { await call("DELETE", appPath(`/users/${state.user.id}`)); await loadUsers(); });
});
$("back").addEventListener("click", () => act("", "Could not load the users", loadUsers));
$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("key-name").value.trim();
  act(`Created the key ${name}`, async () => {
    const k = await call("POST", appPath("/api_keys"), { name });
    $("new-key-value").textContent = k.key;
    $("new-key").hidden = false;
    $("key-name").value = "";
    await loadKeys();
  });
});
$("audit-form").addEventListener("submit", (e) => { e.preventDefault(); act("", "Could not load the audit log", loadAudit); });

if (sessionStorage.getItem("warden-admin-key")) {
  act("", "Sign-in failed", () => signIn(sessionStorage.getItem("warden-admin-key")));
} else {
  show("signin");
}
