// mcloud: behaviour shared by every page (no inline scripts, so a strict CSP holds).
(function () {
  "use strict";
  // Ask before destructive actions: <form data-confirm="Remove this member?">
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);

  // Copy buttons: <button data-copy="#external-id"> copies that element's text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    var source = button && document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.querySelector("span");
      if (label) { label.textContent = "Copied"; }
      window.setTimeout(function () { if (label) { label.textContent = "Copy"; } }, 2000);
    });
  });

  // Fields that belong to one option of a form: <div data-show-if="auth_method=role"> shows
  // only while the form's auth_method is "role" (without JavaScript every field shows).
  function applyShowIf(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-show-if]").forEach(function (element) {
      var form = element.closest("form");
      var rule = element.getAttribute("data-show-if").split("=");
      var control = form && form.elements[rule[0]];
      if (!control) { return; }
      var value = control.type === "checkbox" ? (control.checked ? control.value : "") : control.value;
      element.hidden = value !== rule[1];
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.form && event.target.form.querySelector("[data-show-if]")) {
      applyShowIf(event.target.form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { applyShowIf(document); });

  // Tables that stack on a phone (.table-stack, see mcloud.css): each cell gets its column's
  // name as data-label, and a cell with nothing in it is marked to be left out. On every
  // page load and on each part HTMX swaps in (a list that refreshes itself).
  function labelCells(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var tables = Array.from(scope.querySelectorAll("table.table-stack"));
    if (scope.matches && scope.matches("table.table-stack")) { tables.push(scope); }
    tables.forEach(function (table) {
      var names = Array.from(table.querySelectorAll(":scope > thead > tr > th")).map(function (th) {
        return th.textContent.replace(/[\u25b2\u25bc]/g, "").trim();
      });
      table.querySelectorAll(":scope > tbody > tr").forEach(function (row) {
        Array.from(row.cells).forEach(function (cell, index) {
          if (names[index] && !cell.hasAttribute("colspan")) { cell.setAttribute("data-label", names[index]); }
          if (!cell.textContent.trim() && !cell.querySelector("a, button, input, select, svg, img, .badge")) {
            cell.setAttribute("data-blank", "");
          }
        });
      });
    });
  }
  if (window.htmx) { window.htmx.onLoad(labelCells); }
  else { document.addEventListener("DOMContentLoaded", function () { labelCells(document); }); }

  // URLs carry no empty parameters: an HTMX GET (and the URL it pushes) leaves them out...
  function isEmpty(value) { return value === ""; }
  document.addEventListener("htmx:configRequest", function (event) {
    var data = event.detail.formData;
    if (!event.detail.useUrlParams || !data) { return; }
    Array.from(new Set(data.keys())).forEach(function (key) {
      if (data.getAll(key).every(isEmpty)) { data.delete(key); }
    });
  });
  // ...and so does a plain GET form, by disabling its empty fields while it submits.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.elements || (form.getAttribute("method") || "get").toLowerCase() !== "get") { return; }
    var emptied = Array.from(form.elements).filter(function (field) {
      return field.name && !field.disabled && field.type !== "submit" && field.value === "";
    });
    emptied.forEach(function (field) { field.disabled = true; });
    window.setTimeout(function () { emptied.forEach(function (field) { field.disabled = false; }); }, 0);
  });
  document.addEventListener("htmx:load", function (event) { applyShowIf(event.target); });
})();
