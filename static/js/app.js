// The little behaviour htmx attributes cannot express. Everything here is progressive: without it the
// pages still work as plain forms and links.
(function () {
  "use strict";

  // --- Photos chosen in the floor form --------------------------------------------------------------
  // Each chosen file is sent on its own, one after the other, the moment it is chosen, with a progress
  // bar; the server answers with its preview (and the code read from it). The input is emptied at once,
  // so the report never carries a file a second time. "Send report" waits for photos still on the way.
  var uploads = { queue: [], busy: false, waitingSend: null };

  function uploadInput() { return document.querySelector("[data-upload]"); }

  function showUploadError(text, file) {
    var previews = document.getElementById("previews");
    if (!previews) return;
    var item = document.createElement("li");
    item.className = "flex flex-wrap items-center gap-3 rounded-xl border-2 border-amber-400 bg-amber-50 p-3 " +
      "text-lg font-semibold text-amber-900";
    item.setAttribute("role", "alert");
    item.setAttribute("data-upload-error", "");
    var message = document.createElement("span");
    message.textContent = text;
    item.appendChild(message);
    if (file) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "btn-secondary min-h-12";
      retry.textContent = "Send the photo again";
      retry.addEventListener("click", function () { item.remove(); enqueue([file]); });
      item.appendChild(retry);
    }
    previews.appendChild(item);
  }

  function setUploading(on) {
    var status = document.getElementById("upload-status");
    if (status) status.classList.toggle("htmx-request", on);
    var bar = document.querySelector("[data-upload-progress]");
    if (bar) bar.value = 0;
  }

  function enqueue(files) {
    var input = uploadInput();
    var limit = input ? Number(input.dataset.maxBytes) : 0;
    files.forEach(function (file) {
      if (limit && file.size > limit) {
        showUploadError(file.name + ": the file is " + (file.size / 1048576).toFixed(1) + " MB; the largest " +
          "accepted is " + Math.round(limit / 1048576) + " MB.");
      } else {
        uploads.queue.push(file);
      }
    });
    next();
  }

  function next() {
    if (uploads.busy) return;
    var file = uploads.queue.shift();
    var input = uploadInput();
    if (!file || !input) {
      setUploading(false);
      if (uploads.waitingSend) {
        var send = uploads.waitingSend;
        uploads.waitingSend = null;
        send.issueRequest(true);
      }
      return;
    }
    uploads.busy = true;
    setUploading(true);
    var form = input.form;
    var data = new FormData();
    data.append("token", form.elements.token.value);
    data.append("alarm_codes", form.elements.alarm_codes ? form.elements.alarm_codes.value : "");
    data.append("files", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", input.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.upload.addEventListener("progress", function (event) {
      var bar = document.querySelector("[data-upload-progress]");
      if (bar && event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
    });
    function done() { uploads.busy = false; next(); }
    xhr.addEventListener("load", function () {
      if (xhr.status === 200) {
        htmx.swap("#previews", xhr.responseText, { swapStyle: "beforeend" });
      } else if (xhr.status === 413 || xhr.status === 400) {
        showUploadError(file.name + ": " + xhr.responseText);
      } else {
        showUploadError("The photo " + file.name + " did not arrive (server error " + xhr.status + ").", file);
      }
      done();
    });
    xhr.addEventListener("error", function () {
      showUploadError("The photo did not arrive: no connection.", file);
      done();
    });
    xhr.send(data);
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input.matches && input.matches("[data-upload]"))) return;
    var files = Array.prototype.slice.call(input.files || []);
    input.value = "";
    enqueue(files);
  });

  // "Send report" pressed while a photo is still on the way: send as soon as it has arrived.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (form.id !== "report-form" || !(uploads.busy || uploads.queue.length)) return;
    event.preventDefault();
    uploads.waitingSend = event.detail;
    var note = form.querySelector("[data-send-waiting]");
    if (note) note.classList.remove("hidden");
  });

  // --- Alarm codes found on a photo ----------------------------------------------------------------
  // A tap on a code found on the photo puts it into the alarm-code field. The button holds the code as
  // the server read and normalised it, and the field is read on the server alone (parse_typed_codes in
  // floor/ocr/alarm_codes.py: commas, semicolons, line breaks, codes written with spaces), so nothing here
  // splits the field by a rule of its own that could read it otherwise. Whether the code is in the field
  // already is the server's answer: the "seen before" panel follows the field and sends back the codes it
  // read, with the exact text it read them from (the "typedcodes" event). A field that is that one code
  // (filled in from the photo) needs no answer. An answer about another text (typed since, not answered
  // yet) says nothing, and the code is added after a comma: a code then in the field twice is read once.
  var typed = { text: null, codes: [] };
  document.addEventListener("typedcodes", function (event) {
    typed = { text: event.detail.text, codes: event.detail.codes || [] };
  });

  function fieldHolds(field, code) {
    if (field.value.trim() === code) return true;
    return typed.text === field.value && typed.codes.indexOf(code) !== -1;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-alarm-code]");
    if (button) {
      var field = document.getElementById("id_alarm_codes");
      var code = button.dataset.alarmCode;
      if (!fieldHolds(field, code)) {
        var text = field.value.trim();
        field.value = text ? text + ", " + code : code;
      }
      htmx.trigger(field, "codefilled");
      button.setAttribute("aria-pressed", "true");
      return;
    }
    if (event.target.closest("[data-print]")) window.print();
  });

  // The desk: "/" jumps to the search box, as in most tools people already know.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    var search = document.querySelector("[data-search-shortcut]");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });

  // A self-refreshing part waits while someone is working in the part named by data-pause-while-focused
  // (the desk's table while a filter has the keyboard): a swap under their hands would lose their place.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var selector = elt.dataset && elt.dataset.pauseWhileFocused;
    var busy = selector && document.querySelector(selector);
    if (busy && busy.contains(document.activeElement)) event.preventDefault();
  });

  // Flaky Wi-Fi: say what was not sent and keep everything as it is.
  function failed(event) {
    var elt = event.detail.elt;
    // Only a form's own submission: a failed background refresh is retried by its next poll.
    var note = elt.tagName === "FORM" && elt.querySelector("[data-send-error]");
    if (note) note.classList.remove("hidden");
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.tagName !== "FORM") return;
    elt.querySelectorAll("[data-send-error], [data-send-waiting]").forEach(function (note) {
      note.classList.add("hidden");
    });
  });
})();
