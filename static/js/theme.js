// mcloud: the colour theme, before the page paints (loaded without defer, so no flash).
// <html data-theme="auto"> follows the system's setting, live; "light" and "dark" are the
// user's own choice, which the server already wrote into data-bs-theme.
(function () {
  "use strict";
  var root = document.documentElement;
  if (root.getAttribute("data-theme") !== "auto" || !window.matchMedia) { return; }
  var dark = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() { root.setAttribute("data-bs-theme", dark.matches ? "dark" : "light"); }
  apply();
  dark.addEventListener("change", apply);
})();
