// realm-web's mongoClient against Warden's embedded data store: CRUD as realm-js's
// remote-mongodb-service tests use it, the rules of examples/todo (owners, a hidden
// field, refused inserts), system functions, and custom user data.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { Realm, APP_ID, freshApp, uniqueEmail, jwtPayload } = require("./helpers");

const TODO_APP_ID = process.env.WARDEN_TODO_APP_ID;

async function newUser(app) {
  const email = uniqueEmail("data");
  await app.emailPasswordAuth.registerUser({ email, password: "password1" });
  return app.logIn(Realm.Credentials.emailPassword(email, "password1"));
}

function sandbox(user) {
  return user.mongoClient("mongodb-atlas").db("todo").collection("Sandbox");
}

test("CRUD through mongoClient, with realm-web's argument shapes and Extended JSON", async () => {
  const app = freshApp(TODO_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous(false));
  const coll = sandbox(user);
  const runId = Date.now() * 1000 + Math.floor(Math.random() * 1000); // above 2^32: sent as $numberLong

  const one = await coll.insertOne({ runId, name: "Alice", n: 1 });
  assert.equal(one.insertedId.constructor.name, "ObjectId");
  const many = await coll.insertMany([{ runId, name: "Bob", n: 2 }, { runId, name: "Charlie", n: 3, when: new Date(0) }]);
  assert.equal(many.insertedIds.length, 2);

  assert.equal(await coll.count({ runId }), 3);
  assert.equal(await coll.count({ runId }, { limit: 2 }), 2);
  const found = await coll.find({ runId }, { sort: { n: -1 }, limit: 2, projection: { name: 1, _id: 0 } });
  assert.deepEqual(found, [{ name: "Charlie" }, { name: "Bob" }]);
  const alice = await coll.findOne({ _id: { $eq: one.insertedId } });
  assert.equal(alice.name, "Alice");
  assert.equal(alice._id.toHexString(), one.insertedId.toHexString());
  const charlie = await coll.findOne({ runId, name: "Charlie" });
  assert.ok(charlie.when instanceof Date && charlie.when.getTime() === 0, "dates come back as Date");

  // Updates: operators, a plain document (updateOne), a plain document on many, an upsert.
  let res = await coll.updateOne({ runId, name: "Alice" }, { $set: { n: 10 } });
  assert.deepEqual([res.matchedCount, res.modifiedCount, res.upsertedId], [1, 1, undefined]);
  res = await coll.updateOne({ _id: one.insertedId }, { runId, name: "Alison" });
  assert.deepEqual([res.matchedCount, res.modifiedCount], [1, 1]);
  assert.deepEqual(Object.keys(await coll.findOne({ _id: one.insertedId })), ["_id", "runId", "name"], "a plain document replaces");
  res = await coll.updateMany({ runId }, { hiddenField: "same secret" });
  assert.deepEqual([res.matchedCount, res.modifiedCount], [3, 3]);
  res = await coll.updateMany({ runId, name: "Nobody" }, { $set: { x: 1 } }, { upsert: true });
  assert.deepEqual([res.matchedCount, res.modifiedCount], [0, 0]);
  assert.ok(res.upsertedId, "upsertedId is set for an upsert");
  assert.equal(await coll.count({ runId }), 4);

  // findOneAnd*: a plain document replaces; returnNewDocument picks the image.
  const dennis = await coll.findOneAndUpdate({ runId, name: "Dennis" }, { runId, name: "Dennis", hiddenField: "x" }, { upsert: true, returnNewDocument: true });
  assert.deepEqual(Object.keys(dennis), ["_id", "runId", "name", "hiddenField"]);
  const pre = await coll.findOneAndUpdate({ runId, name: "Dennis" }, { $set: { n: 5 } });
  assert.equal(pre.n, undefined, "the pre-image is returned by default");
  const replaced = await coll.findOneAndReplace({ runId, name: "Dennis" }, { runId, name: "Dennis", n: 6 }, { returnNewDocument: true });
  assert.equal(replaced.n, 6);
  assert.equal(replaced.hiddenField, undefined);
  assert.equal(await coll.findOneAndUpdate({ runId, name: "Nobody at all" }, { $set: { n: 1 } }), null);

  // findOneAndDelete (sent by realm-web as findOneAndReplace without an update).
  const before = await coll.count({ runId });
  const deleted = await coll.findOneAndDelete({ runId }, { sort: { n: -1 } });
  assert.equal(deleted.name, "Dennis", "the highest n (6) goes first: Alison lost her n when she was replaced");
  assert.equal(await coll.count({ runId }), before - 1);

  // Aggregation.
  const agg = await coll.aggregate([{ $match: { runId } }, { $group: { _id: "$runId", total: { $sum: 1 } } }]);
  assert.deepEqual(agg, [{ _id: runId, total: before - 1 }]);

  // Deletes.
  assert.deepEqual(await coll.deleteOne({ runId, name: "Bob" }), { deletedCount: 1 });
  const rest = await coll.deleteMany({ runId });
  assert.equal(rest.deletedCount, before - 2);
  assert.equal(await coll.count({ runId }), 0);
});

test("the rules: owners see only their items, a hidden field stays hidden, foreign inserts are refused", async () => {
  const app = freshApp(TODO_APP_ID);
  const alice = await newUser(app);
  const bob = await newUser(app);
  const aliceItems = alice.mongoClient("mongodb-atlas").db("todo").collection("Item");
  const bobItems = bob.mongoClient("mongodb-atlas").db("todo").collection("Item");

  await aliceItems.insertMany([{ summary: "alice 1", owner_id: alice.id, isComplete: false }, { summary: "alice 2", owner_id: alice.id, isComplete: false }]);
  await bobItems.insertOne({ summary: "bob 1", owner_id: bob.id, isComplete: false });

  const mine = await aliceItems.find({});
  assert.deepEqual(mine.map((d) => d.summary).sort(), ["alice 1", "alice 2"]);
  assert.equal(await bobItems.count({}), 1);
  assert.equal(await bobItems.findOne({ summary: "alice 1" }), null, "bob cannot see alice's item");

  // A field the rules hide: set by the system, never shown to the owner.
  assert.equal(await alice.functions.countAllItems() >= 3, true, "a system function sees every item");
  assert.equal(await alice.functions.countMyItems(), 2, "a user function sees only the caller's items");

  await assert.rejects(bobItems.insertOne({ summary: "forged", owner_id: alice.id }), (err) => {
    assert.equal(err.statusCode, 400);
    assert.equal(err.errorCode, "NoMatchingRuleFound");
    assert.match(err.message, /insert not permitted/);
    return true;
  });
  assert.equal(bob.state, "active", "a refused write does not log the user out");
  await assert.rejects(aliceItems.insertOne({ summary: "x", owner_id: alice.id, internalNote: "sneaky" }), /insert not permitted/);

  // Updates and deletes reach only the caller's own documents.
  const upd = await bobItems.updateMany({}, { $set: { isComplete: true } });
  assert.equal(upd.matchedCount, 1);
  const del = await bobItems.deleteMany({});
  assert.equal(del.deletedCount, 1);
  assert.equal(await aliceItems.count({}), 2, "bob's deleteMany left alice's items alone");

  // A collection without rules is closed to users.
  const other = alice.mongoClient("mongodb-atlas").db("todo").collection("NoRules");
  await assert.rejects(other.find({}), (err) => err.statusCode === 400 && /no rule exists for namespace 'todo.NoRules'/.test(err.message));
});

test("an attacker's upsert, update or query cannot reach another user's data", async () => {
  const app = freshApp(TODO_APP_ID);
  const alice = await newUser(app);
  const bob = await newUser(app);
  const aliceItems = alice.mongoClient("mongodb-atlas").db("todo").collection("Item");
  const bobItems = bob.mongoClient("mongodb-atlas").db("todo").collection("Item");
  const { insertedId: aliceId } = await aliceItems.insertOne({ summary: "alice's", owner_id: alice.id });
  const { insertedId: bobId } = await bobItems.insertOne({ summary: "bob's", owner_id: bob.id });

  // Upserts only match what the caller may write: on alice's _id it can only try to insert.
  await assert.rejects(bobItems.updateOne({ _id: aliceId }, { $set: { owner_id: bob.id } }, { upsert: true }), (err) => {
    assert.equal(err.statusCode, 400);
    assert.ok(!err.message.includes(aliceId.toHexString()), "the error does not confirm the key");
    return true;
  });
  const took = await bobItems.updateMany({ owner_id: { $ne: bob.id } }, { $set: { owner_id: bob.id, summary: "taken" } }, { upsert: true });
  assert.equal(took.matchedCount, 0);
  assert.ok(took.upsertedId, "the upsert inserted a new document of bob's instead");
  assert.equal((await aliceItems.findOne({ _id: aliceId })).owner_id, alice.id, "alice's item is still hers");

  // Custom user data: bob's upsert on alice's document in todo.users inserts (refused), never edits.
  const users = bob.mongoClient("mongodb-atlas").db("todo").collection("users");
  await assert.rejects(users.updateOne({ userId: alice.id }, { $set: { favoriteColor: "hacked" }, $setOnInsert: { userId: bob.id } }, { upsert: true }), /insert not permitted/);
  assert.equal((await alice.refreshCustomData()).favoriteColor, "blue", "alice's custom data is untouched");

  // An update is checked on the document after it too: bob cannot plant his item in alice's data.
  await assert.rejects(bobItems.updateOne({ _id: bobId }, { $set: { owner_id: alice.id } }), /update not permitted/);
  assert.equal(await aliceItems.count({}), 1, "nothing was planted in alice's items");

  // A query may not name a field the caller cannot read: no probing it a bit at a time.
  await alice.functions.annotateItem(aliceId);
  for (const probe of [
    () => aliceItems.count({ _id: aliceId, internalNote: { $regex: "^rev" } }),
    () => aliceItems.find({ internalNote: { $exists: true } }),
    () => aliceItems.find({}, { sort: { internalNote: 1 } }),
  ]) {
    await assert.rejects(probe(), (err) => err.statusCode === 400 && err.errorCode === "NoMatchingRuleFound" && /internalNote/.test(err.message));
  }
  assert.equal(alice.state, "active");
});

test("a hidden field is left out of what the owner reads", async () => {
  const app = freshApp(TODO_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous(false));
  const items = user.mongoClient("mongodb-atlas").db("todo").collection("Item");
  const { insertedId } = await items.insertOne({ summary: "with a note", owner_id: user.id });
  // A system function writes the internal note and sees it.
  const annotated = await user.functions.annotateItem(insertedId);
  assert.equal(annotated.internalNote, "reviewed by support");
  const doc = await items.findOne({ _id: insertedId });
  assert.deepEqual(Object.keys(doc).sort(), ["_id", "owner_id", "summary"]);
});

test("custom user data: written at creation, in the token, fresh after refreshCustomData", async () => {
  const app = freshApp(TODO_APP_ID);
  const user = await newUser(app);
  assert.equal(user.customData.favoriteColor, "blue", "the on-user-creation function ran before the first token");
  assert.equal(user.customData.userId, user.id);
  assert.equal(await user.functions.setFavoriteColor("green"), 1);
  assert.equal(user.customData.favoriteColor, "blue", "the token is stale until refreshed");
  const fresh = await user.refreshCustomData();
  assert.equal(fresh.favoriteColor, "green");
  assert.equal(user.customData.favoriteColor, "green");

  // The rules of todo.users let the user change only favoriteColor in their own document.
  const users = user.mongoClient("mongodb-atlas").db("todo").collection("users");
  await assert.rejects(users.updateOne({ userId: user.id }, { $set: { userId: "someone-else" } }), /update not permitted/);
  await assert.rejects(users.insertOne({ userId: user.id }), /insert not permitted/);
});

test("a function's can_evaluate rule reads the caller's custom data", async () => {
  const app = freshApp(TODO_APP_ID);
  const user = await newUser(app);
  await assert.rejects(user.functions.greenOnly(), (err) => {
    assert.equal(err.statusCode, 400);
    assert.equal(err.errorCode, "NoMatchingRuleFound");
    return true;
  });
  assert.equal(user.state, "active");
  await user.functions.setFavoriteColor("green");
  assert.equal(await user.functions.greenOnly(), "welcome, green fan");
});

test("custom user data over the token bound is left out of the token, and no data means no claim", async () => {
  const app = freshApp(TODO_APP_ID);
  const user = await newUser(app);
  assert.equal(await user.functions.setFavoriteColor("x".repeat(20000)), 1);
  assert.deepEqual(await user.refreshCustomData(), {}, "a 20 KB document is not put into the token");
  assert.equal(jwtPayload(user.accessToken).user_data, undefined);
  assert.equal(user.state, "active");
  await user.functions.setFavoriteColor("red");
  assert.equal((await user.refreshCustomData()).favoriteColor, "red");

  const plain = freshApp(APP_ID);
  const guest = await plain.logIn(Realm.Credentials.anonymous(false));
  assert.ok(!("user_data" in jwtPayload(guest.accessToken)), "an app without custom user data sends no user_data claim (never null)");
  assert.deepEqual(guest.customData, {});
});

test("unknown services are 404", async () => {
  const app = freshApp(TODO_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous(false));
  const nope = user.mongoClient("no-such-service").db("d").collection("c");
  await assert.rejects(nope.find({}), (err) => err.statusCode === 404 && err.errorCode === "ServiceNotFound");
  await assert.rejects(
    (async () => {
      for await (const ev of nope.watch()) assert.fail("unexpected change event " + JSON.stringify(ev));
    })(),
    (err) => err.statusCode === 404 && err.errorCode === "ServiceNotFound",
  );
  assert.equal(user.state, "active");
});

/**
 * Starts watchers and resolves once each has seen a probe document, so that a test's
 * writes begin when every stream is known to be open (instead of sleeping and hoping).
 * A probe is inserted, and deleted, until then; watchers ignore probes.
 */
async function whenWatching(coll, readies) {
  let done = false;
  const all = Promise.all(readies).then(() => (done = true));
  for (let i = 0; !done; i++) {
    await coll.insertOne({ _id: "probe", probe: true });
    await coll.deleteOne({ _id: "probe" });
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 20))]);
  }
}

function probeSeen() {
  let seen;
  const ready = new Promise((resolve) => (seen = resolve));
  return { ready, seen };
}

// realm-js's realm-web integration test "can watch changes correctly"
// (remote-mongodb-service.test.ts), on the embedded store: ten inserts with odd
// characters, watched three ways at once (everything, a filter, ids).
test("can watch changes correctly", async () => {
  const app = freshApp(TODO_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous(false));
  const collection = sandbox(user);
  await collection.deleteMany({});
  const str = "use some odd chars to force weird encoding %\n\r\n\\????>>>>";
  const [a, b, c] = [probeSeen(), probeSeen(), probeSeen()];
  const isProbe = (event) => event.documentKey._id === "probe";
  await Promise.all([
    (async () => {
      await whenWatching(collection, [a.ready, b.ready, c.ready]);
      for (let i = 0; i < 10; i++) {
        await collection.insertOne({ _id: i, hello: "world", str });
      }
      await collection.insertOne({ _id: "done", done: true }); // break other sides out of loop
    })(),
    // Watch any event
    (async () => {
      let expected = 0;
      for await (const event of collection.watch()) {
        if (isProbe(event)) {
          a.seen();
          continue;
        }
        if (event.operationType === "insert") {
          if (event.fullDocument.done) break;
          assert.equal(event.fullDocument._id, expected++);
          assert.equal(event.fullDocument.str, str);
        } else {
          throw new Error(`Unexpected ${event.operationType} event`);
        }
      }
      assert.equal(expected, 10);
    })(),
    // Watch using the filter option
    (async () => {
      const filter = {
        $or: [{ "fullDocument._id": 3, "fullDocument.str": str }, { "fullDocument.done": true }, { "documentKey._id": "probe" }],
      };
      let seenIt = false;
      for await (const event of collection.watch({ filter })) {
        if (isProbe(event)) {
          b.seen();
          continue;
        }
        if (event.operationType === "insert") {
          if (event.fullDocument.done) break;
          assert.equal(event.fullDocument._id, 3);
          seenIt = true;
        } else {
          throw new Error(`Unexpected ${event.operationType} event`);
        }
      }
      assert.ok(seenIt, "seenIt for filter");
    })(),
    // Watch using the ids option
    (async () => {
      let seenIt = false;
      for await (const event of collection.watch({ ids: [5, "done", "probe"] })) {
        if (isProbe(event)) {
          c.seen();
          continue;
        }
        if (event.operationType === "insert") {
          if (event.fullDocument.done) break;
          assert.equal(event.fullDocument._id, 5);
          seenIt = true;
        } else {
          throw new Error(`Unexpected ${event.operationType} event`);
        }
      }
      assert.ok(seenIt, "seenIt for ids");
    })(),
  ]);
  await collection.deleteMany({});
});

test("watch shows a user its own documents' changes, without hidden fields, and none of another user's", async () => {
  const app = freshApp(TODO_APP_ID);
  const alice = await newUser(app);
  const bob = await newUser(app);
  const aliceItems = alice.mongoClient("mongodb-atlas").db("todo").collection("Item");
  const bobItems = bob.mongoClient("mongodb-atlas").db("todo").collection("Item");
  const probe = probeSeen();
  const events = [];
  const watching = (async () => {
    for await (const event of aliceItems.watch()) {
      if (event.fullDocument && event.fullDocument.summary === "probe") {
        probe.seen();
        continue;
      }
      if (event.operationType === "delete" && probeIds.has(event.documentKey._id.toHexString())) continue;
      events.push(event);
      if (event.fullDocument && event.fullDocument.summary === "the end") break;
    }
  })();
  const probeIds = new Set();
  let probing = true;
  probe.ready.then(() => (probing = false));
  while (probing) {
    const { insertedId } = await aliceItems.insertOne({ summary: "probe", owner_id: alice.id });
    probeIds.add(insertedId.toHexString());
    await aliceItems.deleteOne({ _id: insertedId });
    await Promise.race([probe.ready, new Promise((resolve) => setTimeout(resolve, 20))]);
  }

  await bobItems.insertOne({ summary: "bob's", owner_id: bob.id });
  const { insertedId: mine } = await aliceItems.insertOne({ summary: "mine", owner_id: alice.id, isComplete: false });
  const annotated = await alice.functions.annotateItem(mine); // a system function sets the hidden field
  assert.equal(annotated.internalNote, "reviewed by support");
  await aliceItems.updateOne({ _id: mine }, { $set: { isComplete: true } });
  await bobItems.updateMany({}, { $set: { isComplete: true } });
  const { insertedId: gone } = await aliceItems.insertOne({ summary: "to delete", owner_id: alice.id });
  await aliceItems.deleteOne({ _id: gone });
  await aliceItems.insertOne({ summary: "the end", owner_id: alice.id });
  await watching;

  const seen = events.map((e) => `${e.operationType} ${e.fullDocument ? e.fullDocument.summary : e.documentKey._id.toHexString()}`);
  assert.deepEqual(seen, ["insert mine", "update mine", "insert to delete", `delete ${gone.toHexString()}`, "insert the end"]);
  const update = events[1];
  assert.deepEqual(update.updateDescription.updatedFields, { isComplete: true });
  assert.deepEqual(update.updateDescription.removedFields, []);
  for (const e of events) {
    assert.ok(!JSON.stringify(e).includes("internalNote") && !JSON.stringify(e).includes("reviewed"), "no event shows the hidden field: " + JSON.stringify(e));
    assert.equal(e.ns.db, "todo");
    assert.equal(e.ns.coll, "Item");
    assert.ok(e._id && typeof e._id._data === "string", "every event has a resume token");
  }
  assert.equal(events[3].fullDocument, undefined, "a delete carries only the key");
});

test("a watch ends with InvalidSession when its user logs out", async () => {
  const app = freshApp(TODO_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous(false));
  const coll = sandbox(user);
  const probe = probeSeen();
  const ended = (async () => {
    for await (const event of coll.watch({ ids: ["probe"] })) {
      probe.seen();
    }
  })().then(
    () => assert.fail("the watch ended without an error"),
    (err) => err,
  );
  await whenWatching(coll, [probe.ready]);
  // The stream's session ends: the server says so in the stream, and realm-web throws it.
  await user.logOut();
  const err = await ended;
  assert.equal(err.name, "WatchError");
  assert.equal(err.code, "InvalidSession");
});
