// The "Work with Multiple Users" page of the Realm Web SDK, clickable. The server is
// the origin this page came from (warden serve --static), or ?baseUrl=...; the app is
// quickstart-abcde, or ?appId=....
"use strict";

const params = new URLSearchParams(window.location.search);
const baseUrl = params.get("baseUrl") || window.location.origin;
const appId = params.get("appId") || "quickstart-abcde";
const app = new Realm.App({ id: appId, baseUrl });

const $ = (id) => document.getElementById(id);
$("server").textContent = baseUrl;
$("app-id").textContent = appId;

function say(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

/** Runs an action, shows what it did (done) or what could not be done (failed) and why,
 * and redraws the users. */
async function act(done, failed, fn) {
  try {
    await fn();
    say(done);
  } catch (err) {
    say(`${failed}: ${err.message || err}`, true);
  } finally {
    render();
  }
}

function describe(user) {
  const email = user.profile && user.profile.email;
  return email || user.id;
}

function button(text, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (className) b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

function render() {
  const body = $("users").querySelector("tbody");
  body.replaceChildren();
  const users = Object.values(app.allUsers);
  const current = app.currentUser;
  $("current-user").textContent = current ? describe(current) : "none";
  $("no-users").hidden = users.length > 0;
  for (const user of users) {
    const row = document.createElement("tr");
    row.dataset.userId = user.id;
    row.dataset.state = user.state;
    if (current && current.id === user.id) row.classList.add("current");
    const cells = [
      ["User", describe(user)],
      ["Provider", user.providerType],
      ["State", user.state + (current && current.id === user.id ? " (current)" : "")],
    ];
    for (const [label, text] of cells) {
      const td = document.createElement("td");
      td.dataset.label = label;
      td.textContent = text;
      row.append(td);
    }
    const actions = document.createElement("td");
    actions.dataset.label = "Actions";
    const box = document.createElement("div");
    box.className = "buttons";
    const name = describe(user);
    const switchButton = button("Switch to", "secondary", () => act(`Switched to ${name}`, `Could not switch to ${name}`, async () => app.switchUser(user)));
    switchButton.setAttribute("aria-label", `Switch to ${name}`);
    switchButton.disabled = user.state !== "active";
    const profileButton = button("Refresh profile", "secondary", () => act(`Refreshed the profile of ${name}`, `Could not refresh the profile of ${name}`, () => user.refreshProfile()));
    profileButton.setAttribute("aria-label", `Refresh the profile of ${name}`);
    profileButton.disabled = user.state !== "active";
    const logOutButton = button("Log out", "secondary", () => act(`Logged out ${name}`, `Could not log out ${name}`, () => user.logOut()));
    logOutButton.setAttribute("aria-label", `Log out ${name}`);
    logOutButton.disabled = user.state !== "active";
    const removeButton = button("Remove", "secondary", () => act(`Removed ${name}`, `Could not remove ${name}`, () => app.removeUser(user)));
    removeButton.setAttribute("aria-label", `Remove ${name} from this browser`);
    const deleteButton = button("Delete", "danger", () => {
      if (!window.confirm(`Delete the account ${name}? This cannot be undone.`)) return;
      // realm-web's app.deleteUser deletes the *current* user; make this user current first.
      act(`Deleted ${name}`, `Could not delete ${name}`, async () => {
        app.switchUser(user);
        await app.deleteUser(user);
      });
    });
    deleteButton.setAttribute("aria-label", `Delete the account of ${name}`);
    deleteButton.disabled = user.state !== "active";
    box.append(switchButton, profileButton, logOutButton, removeButton, deleteButton);
    actions.append(box);
    row.append(actions);
    body.append(row);
  }
}

function credentials() {
  return { email: $("email").value.trim(), password: $("password").value };
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const { email, password } = credentials();
  act(`Logged in ${email}`, `Could not log in ${email}`, async () => {
    const user = await app.logIn(Realm.Credentials.emailPassword(email, password));
    await user.refreshProfile();
  });
});

$("register").addEventListener("click", () => {
  const { email, password } = credentials();
  if (!$("login-form").reportValidity()) return;
  act(`Registered ${email}; now log in`, `Could not register ${email}`, () => app.emailPasswordAuth.registerUser({ email, password }));
});

$("anonymous").addEventListener("click", () => {
  // A new anonymous user each time: realm-web cannot log a logged-out anonymous user back in.
  act("Logged in anonymously", "Could not log in anonymously", () => app.logIn(Realm.Credentials.anonymous(false)));
});

render();
