// The wall screen: a machine that has just stopped flashes once, when this screen first shows it, then
// stays marked "Just stopped". The screen replaces its whole body at every refresh (an unchanged body
// comes from the browser's cache), and a new element would start its animation again: a mark this screen
// has flashed already loses its animation as it arrives, before anything is painted.
(function () {
  "use strict";

  var flashed = new Set(); // data-just-stopped keys: machine and the moment its stop began

  function note(root) {
    root.querySelectorAll("[data-just-stopped]").forEach(function (row) {
      var key = row.dataset.justStopped;
      if (flashed.has(key)) row.classList.remove("wall-flash");
      else flashed.add(key);
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) { note(event.target); });
  note(document);
})();
