// mcloud: the search palette. "/" (outside a text field) or Ctrl-K / Cmd-K (anywhere) opens
// it; typing asks the server (HTMX, on the field itself) for results grouped by kind; the
// arrows move through them, Enter opens one (or, with none chosen, the full results page),
// Esc closes. A combobox with a listbox, its active option named by aria-activedescendant.
(function () {
  "use strict";
  var dialog, input, body;

  function options() { return Array.from(body.querySelectorAll("[role=option]")); }
  function current() { return body.querySelector("[role=option][aria-selected=true]"); }

  function choose(option) {
    options().forEach(function (each) {
      each.setAttribute("aria-selected", each === option ? "true" : "false");
      each.classList.toggle("active", each === option);
    });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({block: "nearest"});
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function move(step) {
    var all = options();
    if (!all.length) { return; }
    var at = all.indexOf(current());
    choose(all[at < 0 ? (step > 0 ? 0 : all.length - 1) : (at + step + all.length) % all.length]);
  }

  function open() {
    if (!dialog.open) { dialog.showModal(); }
    input.focus();
    input.select();
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (!dialog) { return; }
    var key = event.key;
    if ((key === "k" || key === "K") && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey) {
      event.preventDefault();
      open();
    } else if (key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !dialog.open && !typing(event.target)) {
      event.preventDefault();
      open();
    }
  });

  function onInputKey(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      var option = current();
      if (option) {
        event.preventDefault();
        if (event.ctrlKey || event.metaKey) { window.open(option.href, "_blank", "noopener"); } else { window.location.assign(option.href); }
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      dialog.close();
    }
  }

  // Binds the page's palette; again after a boosted link swapped the body (palette included).
  function bind() {
    var found = document.getElementById("palette");
    if (found === dialog) { return; }
    if (!found || typeof found.showModal !== "function") { dialog = null; return; }
    dialog = found;
    input = document.getElementById("palette-input");
    body = document.getElementById("palette-body");
    input.addEventListener("keydown", onInputKey);
    // What is shown no longer answers what is typed: Enter now searches (the results page)
    // until the new results arrive.
    input.addEventListener("input", function () { choose(null); });
    document.querySelectorAll("[data-palette-open]").forEach(function (link) {
      link.addEventListener("click", function (event) { event.preventDefault(); open(); });
    });
    // New results: the first is the one Enter opens.
    body.addEventListener("htmx:afterSwap", function () {
      var all = options();
      input.setAttribute("aria-expanded", all.length ? "true" : "false");
      choose(all[0] || null);
    });
    body.addEventListener("mousemove", function (event) {
      var option = event.target.closest && event.target.closest("[role=option]");
      if (option && option !== current()) { choose(option); }
    });
    // A click on the backdrop (the dialog itself, outside its box) closes it.
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { dialog.close(); } });
  }

  document.addEventListener("DOMContentLoaded", bind);
  document.addEventListener("htmx:afterSettle", bind);
})();
