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
})();
