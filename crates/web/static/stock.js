// Counts and transfers on a phone: the scanner types a code and Enter into #scan; each scan
// adds the line "code 1" to the lines box, or adds one to the line of that code.
(function () {
  "use strict";
  var scan = document.querySelector("[data-scan-into]");
  if (!scan) { return; }
  var box = document.getElementById(scan.getAttribute("data-scan-into"));
  scan.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") { return; }
    ev.preventDefault();
    var code = scan.value.trim();
    scan.value = "";
    if (!code || !box) { return; }
    var lines = box.value.split("\n").filter(function (l) { return l.trim() !== ""; });
    var found = false;
    lines = lines.map(function (l) {
      var parts = l.trim().split(/[\s;]+/);
      if (parts[0] === code) {
        found = true;
        var n = parseFloat((parts[1] || "1").replace(",", ".")) || 0;
        return code + " " + String(n + 1).replace(".", ",");
      }
      return l;
    });
    if (!found) { lines.push(code + " 1"); }
    box.value = lines.join("\n") + "\n";
  });
})();
