// Progressive enhancement of the chat form: ask without reloading, keep the thread,
// send earlier questions as history. Markup comes from the server (/turn), already escaped.
(function () {
  "use strict";
  var form = document.getElementById("ask-form");
  if (!form || !window.fetch) { return; }
  var input = document.getElementById("question");
  var thread = document.getElementById("thread");
  var busy = document.getElementById("busy");
  var button = document.getElementById("ask-button");
  var historyFields = document.getElementById("history-fields");
  // the server's limit (STEMCELL_QA_MAX_HISTORY), rendered into the page: one place to change it
  var maxHistory = parseInt(form.getAttribute("data-max-history"), 10) || 0;
  // the last questions the server accepts as history, or none
  function kept(questions) { return maxHistory > 0 ? questions.slice(-maxHistory) : []; }
  var history = Array.prototype.map.call(
    historyFields.querySelectorAll("input[name=history]"), function (el) { return el.value; });
  historyFields.textContent = "";  // the script keeps the history from here on

  // Keyboard focus moved under the sticky question box (a source link, "Show the whole
  // passage"): the page scrolls what gets focus above the box, whatever its height.
  function padForBox() {
    document.documentElement.style.scrollPaddingBottom = (form.offsetHeight + 8) + "px";
  }
  padForBox();
  window.addEventListener("resize", padForBox);

  // The conversation is kept in this tab's session storage, so reloading the page or coming
  // back to it does not lose it (opening the page afresh starts a new one); the storage ends
  // with the tab, and "Start a new conversation" empties it. The server keeps nothing. Only
  // the last few turns are kept.
  var STORE = "stemcell-qa-conversation";
  var KEPT_TURNS = 20;
  function stored() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORE) || "null");
      return saved && Array.isArray(saved.turns) && Array.isArray(saved.history) ? saved : null;
    } catch (e) { return null; }  // storage refused (private mode) or unreadable
  }
  function save() {
    var turns = Array.prototype.map.call(thread.querySelectorAll("article.turn"),
      function (el) { return el.outerHTML; }).slice(-KEPT_TURNS);
    try {
      window.sessionStorage.setItem(STORE, JSON.stringify({ turns: turns, history: history }));
    } catch (e) { /* full or refused: the page still works, a reload loses the thread */ }
  }
  function forget() {
    try { window.sessionStorage.removeItem(STORE); } catch (e) { /* nothing kept */ }
  }
  var arrival = window.performance && performance.getEntriesByType ?
    (performance.getEntriesByType("navigation")[0] || {}).type : "";
  var returning = arrival === "reload" || arrival === "back_forward";
  if (!returning) { forget(); }
  var saved = returning && thread.children.length === 0 ? stored() : null;
  if (saved) {
    // put back quietly: the thread is a live region, and a screen reader would read every
    // restored turn again
    var live = thread.getAttribute("aria-live");
    thread.setAttribute("aria-live", "off");
    saved.turns.forEach(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;  // this page's own server-rendered markup, saved above
      if (holder.firstElementChild) { thread.appendChild(holder.firstElementChild); }
    });
    window.setTimeout(function () { thread.setAttribute("aria-live", live || "polite"); }, 0);
    history = kept(saved.history.filter(function (q) { return typeof q === "string"; }));
    var last = thread.lastElementChild;
    if (last) { showAbove(last, last.querySelector("h2") || last); }
  }

  function setBusy(on) {
    busy.hidden = !on;
    button.disabled = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  // The question box stays at the bottom of the window (sticky) and covered the new answer's
  // heading: show the turn from its top, or from the heading when a long question would push
  // the heading under the box.
  function showAbove(turn, heading) {
    turn.scrollIntoView({ block: "start" });
    if (heading.getBoundingClientRect().bottom > form.getBoundingClientRect().top) {
      heading.scrollIntoView({ block: "start" });
    }
  }

  function ask(question) {
    var body = new URLSearchParams();
    body.append("question", question);
    history.forEach(function (q) { body.append("history", q); });
    setBusy(true);
    var answered = false;  // the box is emptied only once an answer is shown
    return fetch("/turn", { method: "POST", body: body, credentials: "same-origin" })
      .catch(function () {  // no response at all: offline, or the server is down
        throw new Error("The question could not be sent: there is no connection to the " +
          "server. Please check your connection and try again.");
      })
      .then(function (response) {
        if (response.status === 429) {
          throw new Error("Too many questions at once. Please wait a minute and try again.");
        }
        if (response.status === 413) {
          throw new Error("That was more text than this page accepts at once. Please shorten the question.");
        }
        return response.text().then(function (html) { return { ok: response.ok, html: html }; });
      })
      .then(function (result) {
        var holder = document.createElement("div");
        holder.innerHTML = result.html;  // server-rendered, autoescaped markup
        var turn = holder.firstElementChild;
        if (!turn) { throw new Error("The answer could not be shown."); }
        thread.appendChild(turn);
        if (result.ok && turn.getAttribute("data-status") !== "error") {
          history.push(question);
          answered = true;
        }
        history = kept(history);
        save();
        var heading = turn.querySelector("h2") || turn;
        heading.setAttribute("tabindex", "-1");
        showAbove(turn, heading);
        heading.focus({ preventScroll: true });
      })
      .catch(function (error) {
        var note = document.createElement("div");
        note.className = "notice";
        note.setAttribute("role", "alert");
        note.textContent = error.message || "Something went wrong. Please try again.";
        thread.appendChild(note);
      })
      .finally(function () {
        setBusy(false);
        if (answered) { input.value = ""; }  // a refused or unsent question stays, to retry
        input.focus({ preventScroll: true });
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) { input.focus(); return; }
    ask(question);
  });

  document.getElementById("new-conversation").addEventListener("click", function (event) {
    event.preventDefault();
    history = [];
    thread.textContent = "";
    forget();
    input.value = "";
    input.focus();
  });

  Array.prototype.forEach.call(document.querySelectorAll(".example"), function (el) {
    el.addEventListener("click", function () {
      input.value = el.getAttribute("data-question");
      form.requestSubmit ? form.requestSubmit() : ask(input.value);
    });
  });
})();
