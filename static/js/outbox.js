// The outbox: a report (or a remedy) that could not be sent because the network was gone stays on this
// tablet, fields and photos included, in IndexedDB, and is sent by itself when the network is back: on
// reconnect, when the page comes back into view, on every page load and every 20 seconds. A form takes
// part with data-outbox="what it is"; its token (the form's hidden field) makes a resend harmless, so an
// answer lost on the way home costs nothing either. data-outbox-saved says how the server answers a saved
// form: "redirect" (HX-Redirect, the report) or "ok" (a 2xx fragment for hx-target, the remedy; its form
// comes back with 400 or 409 when not saved). data-outbox-reset clears the form once its content is kept. The time Send was pressed goes with it as "waited" seconds, counted
// on this tablet's own clock, so the report keeps its time whatever the tablet's clock says.
//
// No service worker: plant networks often serve plain HTTP, where browsers allow none. IndexedDB needs
// none of that. Everything here is progressive: without it a failed send says "Not sent" as before.
(function () {
  "use strict";

  var DB_NAME = "machine-logbook-outbox";
  var STORE = "forms";
  var RETRY_MS = 20000;
  var SEND_TIMEOUT_MS = 30000;

  function status() { return document.getElementById("outbox-status"); }
  function currentUser() { var s = status(); return s ? s.dataset.user : ""; }

  // --- storage ---------------------------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "token" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var result = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () { db.close(); resolve(result && result.result); };
        transaction.onerror = transaction.onabort = function () { db.close(); reject(transaction.error); };
      });
    });
  }

  function allEntries() { return withStore("readonly", function (store) { return store.getAll(); }); }
  function putEntry(entry) { return withStore("readwrite", function (store) { store.put(entry); }); }
  function removeEntry(token) { return withStore("readwrite", function (store) { store.delete(token); }); }

  // --- keeping a form --------------------------------------------------------------------------------
  // The files chosen in the form that never reached the server (app.js keeps them) go with the entry.
  // `sent` is what htmx sent (the button pressed included: "Add this report to #N"); else the form's fields.
  function keep(form, sent) {
    var fields = [];
    var files = (window.logbookUploads ? window.logbookUploads.takeUnsent() : []).map(function (file) {
      return { name: file.name, type: file.type, blob: file };
    });
    (sent || new FormData(form)).forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken") return;
      if (typeof value === "string") fields.push([name, value]);
      else if (value && value.size) files.push({ name: value.name, type: value.type, blob: value });
    });
    var token = form.elements.token && form.elements.token.value;
    if (!token) return Promise.reject(new Error("form without a token"));
    var entry = {
      token: token,
      url: form.getAttribute("action") || location.pathname,
      what: form.dataset.outbox || "report",
      saved: form.dataset.outboxSaved || "redirect",
      target: form.getAttribute("hx-target") || "this",
      page: location.pathname,
      user: currentUser(),
      pressedAt: Date.now(),
      fields: fields,
      files: files,
      problem: ""
    };
    return putEntry(entry).then(function () { return entry; });
  }

  // A form kept: it is cleared for the next report, with a new token, and says where the report is.
  function afterKeeping(form) {
    if (form.dataset.outboxReset) {
      form.reset(); // the name too: the next report may be someone else's
      form.elements.token.value = newToken();
      var previews = form.querySelector("#previews");
      if (previews) previews.innerHTML = "";
      ["#seen-before", "#already-open"].forEach(function (selector) {
        var box = form.querySelector(selector);
        if (box) box.innerHTML = "";
      });
    }
    var note = form.querySelector("[data-send-error]");
    if (note) note.classList.add("hidden");
    var kept = form.querySelector("[data-outbox-kept]");
    if (kept) kept.classList.remove("hidden");
    window.scrollTo(0, 0);
  }

  function newToken() {
    // crypto.randomUUID needs HTTPS; getRandomValues does not.
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" +
      hex.slice(20);
  }

  function sendFailed(event) {
    var form = event.detail.elt;
    if (!(form && form.tagName === "FORM" && form.dataset.outbox !== undefined)) return;
    var sent = event.detail.requestConfig && event.detail.requestConfig.formData;
    keep(form, sent).then(function () {
      afterKeeping(form);
      render();
    }).catch(function () { /* no IndexedDB: the "Not sent" note stays, as before */ });
  }
  document.addEventListener("htmx:sendError", sendFailed);
  document.addEventListener("htmx:timeout", sendFailed);

  // --- sending what was kept -------------------------------------------------------------------------
  var flushing = false;
  var signInNeeded = false;
  var sent = [];

  function freshCsrfToken() {
    var s = status();
    return fetch(s.dataset.tokenUrl, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (response) {
        if (response.status === 403 || response.type === "opaqueredirect") {
          signInNeeded = true;
          throw new Error("signed out");
        }
        if (!response.ok) throw new Error("token " + response.status);
        signInNeeded = false;
        return response.json();
      })
      .then(function (data) { return data.csrfToken; });
  }

  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
      promise.then(function (v) { clearTimeout(timer); resolve(v); }, function (e) { clearTimeout(timer); reject(e); });
    });
  }

  function sendEntry(entry, csrf) {
    var data = new FormData();
    entry.fields.forEach(function (field) { data.append(field[0], field[1]); });
    data.set("waited", String(Math.max(0, Math.round((Date.now() - entry.pressedAt) / 1000))));
    entry.files.forEach(function (file) { data.append("files", file.blob, file.name); });
    var request = fetch(entry.url, {
      method: "POST", body: data, credentials: "same-origin", redirect: "manual",
      headers: { "X-CSRFToken": csrf, "HX-Request": "true" }
    });
    return withTimeout(request, SEND_TIMEOUT_MS).then(function (response) {
      var done = response.headers.get("HX-Redirect");
      if (done) {
        sent.push({ url: done, what: entry.what });
        return removeEntry(entry.token);
      }
      if (response.status === 403 || response.type === "opaqueredirect") {
        signInNeeded = true;
        return null;
      }
      var fragment = entry.saved === "ok";
      if (fragment && response.ok) {
        return response.text().then(function (html) {
          var target = swapTarget(entry);
          if (location.pathname === entry.page && target) htmx.swap(target, html, { swapStyle: "outerHTML" });
          sent.push({ url: entry.page, what: entry.what });
          return removeEntry(entry.token);
        });
      }
      if ((!fragment && response.status === 200) || (fragment && (response.status === 400 || response.status === 409))) {
        // The server answered with the form and what is wrong with it (an issue closed meanwhile, a
        // photo refused, someone changed the issue): shown in place where its page is open (the form
        // holds it then, with its photos), else kept until that page is opened.
        return response.text().then(function (html) {
          var target = swapTarget(entry);
          if (location.pathname === entry.page && target) {
            htmx.swap(target, html, { swapStyle: "outerHTML" });
            return removeEntry(entry.token);
          }
          entry.problem = "form";
          return putEntry(entry);
        });
      }
      if (response.status >= 400 && response.status < 500) {
        // Refused as it is (a form from an old page): kept until someone removes it, never lost silently.
        return response.text().then(function (text) {
          entry.problem = "refused";
          entry.reason = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 200);
          return putEntry(entry);
        });
      }
      return null; // a server error: tried again later
    });
  }

  // Where the server's answer to a kept form goes: the form's hx-target, or the form itself.
  function swapTarget(entry) {
    if (entry.target && entry.target !== "this") return document.querySelector(entry.target);
    return document.querySelector('form[data-outbox="' + entry.what + '"]');
  }

  function flush() {
    if (flushing || !status()) return Promise.resolve();
    flushing = true;
    return allEntries().then(function (entries) {
      var mine = entries.filter(function (entry) { return entry.user === currentUser() && !entry.problem; });
      if (!mine.length) return null;
      return freshCsrfToken().then(function (csrf) {
        return mine.reduce(function (chain, entry) {
          return chain.then(function () { return sendEntry(entry, csrf); });
        }, Promise.resolve());
      });
    }).catch(function () { /* still offline, or signed out: kept for the next round */ })
      .then(function () { flushing = false; return render(); });
  }

  // --- saying what waits -----------------------------------------------------------------------------
  function render() {
    var s = status();
    if (!s) return Promise.resolve();
    return allEntries().then(function (entries) {
      var mine = entries.filter(function (entry) { return entry.user === currentUser(); });
      var waiting = mine.filter(function (entry) { return !entry.problem; });
      var problems = mine.filter(function (entry) { return entry.problem; });
      var others = entries.length - mine.length;
      var parts = [];
      if (waiting.length) {
        parts.push("Saved on this tablet, " + waiting.length + " waiting to send" +
          (signInNeeded ? ": sign in again to send." : ". They are sent as soon as the network is back."));
      }
      if (others) parts.push(others + " saved here by another person, sent when they sign in.");
      s.querySelector("[data-outbox-text]").textContent = parts.join(" ");
      var list = s.querySelector("[data-outbox-list]");
      list.innerHTML = "";
      sent.forEach(function (item) {
        var link = document.createElement("a");
        link.href = item.url;
        link.textContent = "Sent from this tablet: see the " + item.what + ".";
        addItem(list, link);
      });
      problems.forEach(function (entry) {
        var item = document.createElement("span");
        if (entry.problem === "form") {
          var open = document.createElement("a");
          open.href = entry.page;
          open.textContent = "A " + entry.what + " saved here needs a look: open it.";
          item.appendChild(open);
        } else {
          item.textContent = "A " + entry.what + " saved here was refused: " + (entry.reason || "") + " ";
          var drop = document.createElement("button");
          drop.type = "button";
          drop.className = "btn-secondary min-h-12";
          drop.textContent = "Remove it";
          drop.addEventListener("click", function () { removeEntry(entry.token).then(render); });
          item.appendChild(drop);
        }
        addItem(list, item);
      });
      s.hidden = !(parts.length || sent.length || problems.length);
      var problemHere = problems.filter(function (entry) {
        return entry.problem === "form" && entry.page === location.pathname;
      });
      if (problemHere.length && document.querySelector("form[data-outbox]")) {
        // On the page of a report that needs a look: sent once more, its answer is shown in place.
        Promise.all(problemHere.map(function (entry) { entry.problem = ""; return putEntry(entry); }))
          .then(function () { setTimeout(flush, 0); });
      }
    }).catch(function () {});
  }

  function addItem(list, content) {
    var li = document.createElement("li");
    li.appendChild(content);
    list.appendChild(li);
  }

  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  window.addEventListener("focus", flush);
  document.addEventListener("DOMContentLoaded", flush);
  setInterval(flush, RETRY_MS);
  window.logbookOutbox = { flush: flush };
})();
