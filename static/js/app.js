// The little behaviour htmx attributes cannot express. Everything here is progressive: without it the
// pages still work as plain forms and links.
(function () {
  "use strict";

  // --- Photos chosen in the floor form --------------------------------------------------------------
  // Each chosen file is sent on its own, one after the other, the moment it is chosen, with a progress
  // bar; the server answers with its preview (and the code read from it). The input is emptied at once,
  // so the report never carries a file a second time. "Send report" waits for photos still on the way.
  // A photo is scaled down on the tablet first (long side LONG_SIDE px, turned upright): a camera's 12 MP
  // photo then crosses shop-floor Wi-Fi in a fraction of the time, and the screen's text is read as well
  // (`make bench-ocr --scaled`). A file that did not arrive for want of a network is kept (`unsent`) and
  // goes with the report into the outbox (outbox.js).
  var LONG_SIDE = 2400;
  var uploads = { queue: [], busy: false, preparing: 0, waitingSend: null, unsent: [] };

  function scaledDown(file) {
    if (!/^image\/(jpeg|png|webp|bmp)$/.test(file.type) || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = LONG_SIDE / Math.max(bitmap.width, bitmap.height);
      if (scale >= 1 && file.size < 3 * 1048576) { bitmap.close(); return file; }
      scale = Math.min(1, scale);
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      var context = canvas.getContext("2d");
      context.imageSmoothingQuality = "high";
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob) { resolve(file); return; }
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified }));
        }, "image/jpeg", 0.9);
      });
    }).catch(function () { return file; }); // not decodable here (HEIC, say): the server decodes it
  }

  function uploadInput() { return document.querySelector("[data-upload]"); }

  function showUploadError(text, file, unsent) {
    var previews = document.getElementById("previews");
    if (!previews) return;
    var item = document.createElement("li");
    item.className = "flex flex-wrap items-center gap-3 rounded-xl border-2 border-amber-400 bg-amber-50 p-3 " +
      "text-lg font-semibold text-amber-900";
    item.setAttribute("role", "alert");
    item.setAttribute("data-upload-error", "");
    if (unsent) item.setAttribute("data-unsent", "");
    var message = document.createElement("span");
    message.textContent = text;
    item.appendChild(message);
    if (file) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "btn-secondary min-h-12";
      retry.textContent = "Send the photo again";
      retry.addEventListener("click", function () {
        item.remove();
        var kept = uploads.unsent.indexOf(file);
        if (kept !== -1) uploads.unsent.splice(kept, 1);
        uploads.queue.push(file);
        next();
      });
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
    uploads.preparing += files.length;
    if (files.length) setUploading(true);
    files.reduce(function (chain, original) {
      return chain.then(function () { return scaledDown(original); }).then(function (file) {
        uploads.preparing -= 1;
        if (limit && file.size > limit) {
          showUploadError(file.name + ": the file is " + (file.size / 1048576).toFixed(1) + " MB; the largest " +
            "accepted is " + Math.round(limit / 1048576) + " MB.");
        } else {
          uploads.queue.push(file);
        }
        next();
      });
    }, Promise.resolve());
  }

  function keepUnsent(file) {
    uploads.unsent.push(file);
    showUploadError("No network: the photo " + file.name + " is kept on this tablet and goes with the report.",
      file, true);
  }

  // For the outbox: the files that have not reached the server, taken off the form.
  window.logbookUploads = {
    takeUnsent: function () {
      var files = uploads.unsent.concat(uploads.busy ? [] : uploads.queue);
      uploads.unsent = [];
      if (!uploads.busy) uploads.queue = [];
      document.querySelectorAll("[data-unsent]").forEach(function (item) { item.remove(); });
      return files;
    }
  };

  function next() {
    if (uploads.busy) return;
    var file = uploads.queue.shift();
    var input = uploadInput();
    if (!file || !input) {
      if (uploads.preparing) return;
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
      keepUnsent(file);
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
    if (form.id !== "report-form" || !(uploads.busy || uploads.queue.length || uploads.preparing)) return;
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
  // A button shows whether its code is in the field (pressed); a second tap takes it out again, leaving
  // the field as the codes the server read from it, less that one.
  var typed = { text: null, codes: [] };
  document.addEventListener("typedcodes", function (event) {
    typed = { text: event.detail.text, codes: event.detail.codes || [] };
    syncCodeButtons();
  });

  function syncCodeButtons() {
    var field = document.getElementById("id_alarm_codes");
    if (!field) return;
    document.querySelectorAll("[data-alarm-code]").forEach(function (button) {
      button.setAttribute("aria-pressed", fieldHolds(field, button.dataset.alarmCode) ? "true" : "false");
    });
  }

  function fieldHolds(field, code) {
    if (field.value.trim() === code) return true;
    return typed.text === field.value && typed.codes.indexOf(code) !== -1;
  }

  // A code on the screen means an alarm: the kind of problem is picked for the operator, unless they
  // picked one already.
  function pickAlarmCategory() {
    var form = document.getElementById("report-form");
    if (!form || form.querySelector("input[name=category]:checked")) return;
    var alarm = form.querySelector("input[name=category][value=alarm]");
    if (alarm) alarm.checked = true;
  }
  // A preview arriving (with its code buttons) shows at once which of its codes the field holds, and a
  // code filled in from it picks the kind.
  document.addEventListener("htmx:afterSettle", function () {
    syncCodeButtons();
    if (document.querySelector("[data-filled-from-photo]")) pickAlarmCategory();
  });

  // The names used on a shared tablet: the one in the field is shown pressed.
  function syncNameButtons() {
    var input = document.getElementById("id_reporter_name");
    document.querySelectorAll("[data-reporter-name]").forEach(function (button) {
      button.setAttribute("aria-pressed", input && button.dataset.reporterName === input.value ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-alarm-code]");
    if (button) {
      var field = document.getElementById("id_alarm_codes");
      var code = button.dataset.alarmCode;
      if (button.getAttribute("aria-pressed") === "true" && fieldHolds(field, code)) {
        field.value = field.value.trim() === code ? "" : typed.codes.filter(function (c) { return c !== code; }).join(", ");
        button.setAttribute("aria-pressed", "false");
      } else {
        if (!fieldHolds(field, code)) {
          var text = field.value.trim();
          field.value = text ? text + ", " + code : code;
        }
        button.setAttribute("aria-pressed", "true");
        pickAlarmCategory();
      }
      htmx.trigger(field, "codefilled");
      return;
    }
    var name = event.target.closest("[data-reporter-name]");
    if (name) {
      document.getElementById("id_reporter_name").value = name.dataset.reporterName;
      syncNameButtons();
      return;
    }
    if (event.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === "id_reporter_name") syncNameButtons();
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
    elt.querySelectorAll("[data-send-error], [data-send-waiting], [data-outbox-kept]").forEach(function (note) {
      note.classList.add("hidden");
    });
  });
})();
