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

  // Fields that belong to one option of a form: <div data-show-if="auth_method=role"> shows
  // only while the form's auth_method is "role" (without JavaScript every field shows).
  function applyShowIf(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-show-if]").forEach(function (element) {
      var form = element.closest("form");
      var rule = element.getAttribute("data-show-if").split("=");
      var control = form && form.elements[rule[0]];
      if (!control) { return; }
      element.hidden = control.value !== rule[1];
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.form && event.target.form.querySelector("[data-show-if]")) {
      applyShowIf(event.target.form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { applyShowIf(document); });
  document.addEventListener("htmx:load", function (event) { applyShowIf(event.target); });
})();
