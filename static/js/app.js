// The little behaviour htmx attributes cannot express. Everything here is progressive: without it the
// pages still work as plain forms and links.
(function () {
  "use strict";

  // Upload progress on the floor form's photo input.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = event.target.closest("form") && event.target.closest("form").querySelector("[data-upload-progress]");
    if (bar && event.detail.lengthComputable) {
      bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var input = event.detail.elt;
    // The photo is stored as a pending attachment now: empty the input so "Send" does not upload it again.
    if (input.matches && input.matches("[data-upload]") && event.detail.successful) {
      input.value = "";
    }
    var form = input.closest && input.closest("form");
    var bar = form && form.querySelector("[data-upload-progress]");
    if (bar) bar.value = 0;
  });

  // A tap on an alarm code found on the photo puts it into the alarm-code field.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-alarm-code]");
    if (button) {
      var field = document.getElementById("id_alarm_codes");
      var codes = field.value.split(",").map(function (c) { return c.trim(); }).filter(Boolean);
      if (codes.indexOf(button.dataset.alarmCode) === -1) codes.push(button.dataset.alarmCode);
      field.value = codes.join(", ");
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
    if (elt.matches && elt.matches("[data-upload]")) {
      var previews = document.getElementById("previews");
      if (previews) {
        var item = document.createElement("li");
        item.className = "rounded-xl border-2 border-amber-400 bg-amber-50 p-3 text-lg font-semibold text-amber-900";
        item.setAttribute("role", "alert");
        item.textContent = "The photo did not arrive: no connection. Choose it again when the Wi-Fi is back.";
        previews.appendChild(item);
      }
      return;
    }
    // Only a form's own submission: a failed background refresh is retried by its next poll.
    var note = elt.tagName === "FORM" && elt.querySelector("[data-send-error]");
    if (note) note.classList.remove("hidden");
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var note = elt.tagName === "FORM" && elt.querySelector("[data-send-error]");
    if (note) note.classList.add("hidden");
  });
})();
