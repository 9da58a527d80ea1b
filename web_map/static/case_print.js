/* GridGov printable case file: the print button (no inline handlers under the CSP). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("gg-print");
    if (button) button.addEventListener("click", () => window.print());
  });
})();
