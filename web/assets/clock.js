// Sentinel status page: counts every SLA clock (<time class="countdown" data-deadline="ms">) down
// once a second and turns it red when its deadline passes. It counts from the server's time at
// render (<body data-now="ms">), not the browser's clock, which may be off. Without it the page
// shows the time left at render.
"use strict";
(function () {
  function words(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), out = [];
    if (d) out.push(d + "d"); if (h) out.push(h + "h"); if (m && !d) out.push(m + "m");
    if (!d && !h) out.push(s % 60 + "s");
    return out.join(" ");
  }
  var loaded = Date.now(), server = Number(document.body.getAttribute("data-now")) || loaded;
  function tick() {
    var now = server + (Date.now() - loaded), clocks = document.querySelectorAll("time.countdown[data-deadline]");
    for (var i = 0; i < clocks.length; i++) {
      var left = Number(clocks[i].getAttribute("data-deadline")) - now;
      clocks[i].textContent = left >= 0 ? "in " + words(left) : "overdue by " + words(left);
      if (left < 0) clocks[i].classList.add("breached");
    }
  }
  tick();
  setInterval(tick, 1000);
  document.body.setAttribute("data-clocks", "live");
})();
