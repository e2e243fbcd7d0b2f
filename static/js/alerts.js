// The maintenance desk's alert for a machine that has just gone down: the rows the server marks
// data-down-new (desk/alerts.py says which). When the table's own refresh brings one that this page has
// not shown before, two short beeps sound, and while the tab is hidden its title counts them: "(2) Desk".
// The first load never beeps: what is on the screen then is not news to whoever opened it.
//
// Browsers let a page make sound only once someone has clicked or typed in it, so the sound is a toggle,
// off until turned on and remembered in this browser; after a reload the first click anywhere allows it
// again. The beeps are made here with the Web Audio API: no sound file to fetch.
(function () {
  "use strict";

  var controls = document.querySelector("[data-desk-alerts]");
  if (!controls) return;
  var STORAGE_KEY = "logbook.desk.sound";
  var TABLE_ID = "desk-table";
  var COUNT_PREFIX = /^\(\d+\) /;
  var toggle = controls.querySelector("[data-sound-toggle]");
  var blockedNote = controls.querySelector("[data-sound-blocked]");

  var shown = new Set(); // ids of the new machine-down issues this page has shown
  var unseen = 0; // how many of them arrived while the tab was hidden
  var audio = null;
  var enabled = stored();
  // For tests/browser/test_desk_alerts.py: how many times the alert has sounded.
  var alerts = (window.logbookAlerts = { played: 0 });

  function stored() {
    try {
      return window.localStorage.getItem(STORAGE_KEY) === "on";
    } catch (error) {
      return false; // storage refused (a private window's settings): the toggle still works for this page
    }
  }

  function store(on) {
    try {
      window.localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
    } catch (error) {
      /* kept for this page only */
    }
  }

  function context() {
    var AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!audio && AudioContext) {
      audio = new AudioContext();
      audio.addEventListener("statechange", showState);
    }
    return audio;
  }

  // Two short falling tones, each faded in and out so the speaker does not click.
  function beep() {
    var ctx = context();
    if (!ctx) return;
    if (ctx.state === "suspended") ctx.resume();
    var start = ctx.currentTime + 0.02;
    [[880, 0], [660, 0.24]].forEach(function (tone) {
      var at = start + tone[1];
      var oscillator = ctx.createOscillator();
      var gain = ctx.createGain();
      oscillator.type = "triangle";
      oscillator.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.35, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      oscillator.connect(gain).connect(ctx.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.2);
    });
    alerts.played += 1;
  }

  function showState() {
    toggle.setAttribute("aria-pressed", enabled ? "true" : "false");
    toggle.querySelector("[data-sound-state]").textContent = enabled ? "on" : "off";
    blockedNote.hidden = !enabled || (audio !== null && audio.state === "running");
  }

  // Called inside a click or key press, the one moment a browser lets a page start its sound.
  function allowSound() {
    if (!enabled) return;
    var ctx = context();
    if (ctx && ctx.state === "suspended") ctx.resume();
    showState();
  }

  toggle.addEventListener("click", function () {
    enabled = !enabled;
    store(enabled);
    allowSound();
    showState();
  });
  document.addEventListener("pointerdown", allowSound, true);
  document.addEventListener("keydown", allowSound, true);
  // Turned on or off in another tab of the desk.
  window.addEventListener("storage", function (event) {
    if (event.key !== STORAGE_KEY) return;
    enabled = stored();
    allowSound();
    showState();
  });

  function newMachineDown(root) {
    return Array.prototype.map.call(root.querySelectorAll("[data-down-new]"), function (row) {
      return row.dataset.issueId;
    });
  }

  function showCount() {
    var title = document.title.replace(COUNT_PREFIX, "");
    document.title = unseen ? "(" + unseen + ") " + title : title;
  }

  function remember(root) {
    var fresh = newMachineDown(root).filter(function (id) { return !shown.has(id); });
    fresh.forEach(function (id) { shown.add(id); });
    return fresh;
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== TABLE_ID) return;
    var fresh = remember(event.target);
    // Only the table's own refresh brings news. Rows that a filter or a page link brought were asked for
    // by the person looking at them; they are noted, so a later refresh does not beep for them either.
    var requester = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!fresh.length || !requester || requester.id !== TABLE_ID) return;
    if (enabled) beep();
    if (document.hidden) {
      unseen += fresh.length;
      showCount();
    }
  });
  document.addEventListener("htmx:historyRestore", function () { remember(document); });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    unseen = 0;
    showCount();
  });

  remember(document);
  // Remembered as on: find out whether this browser lets the page sound without a click (a kiosk set up
  // to allow it), else say a click is needed.
  if (enabled) context();
  showState();
  controls.hidden = false;
})();
