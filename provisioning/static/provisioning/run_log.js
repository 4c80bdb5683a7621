// The live log of a run: keep it scrolled to the end while new lines arrive, unless the reader
// scrolled up; and hide the "live" mark once the run is final.
(function () {
  "use strict";
  var log = document.getElementById("run-log");
  if (!log) { return; }
  var follow = true;
  log.scrollTop = log.scrollHeight;
  log.addEventListener("scroll", function () {
    follow = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    if (follow) { log.scrollTop = log.scrollHeight; }
  });
  document.body.addEventListener("runFinished", function () {
    var live = document.getElementById("log-live");
    if (live) { live.remove(); }
  });
})();
