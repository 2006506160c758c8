// The score sheet's running total as the reviewer types (the server computes it anyway).
(function () {
  document.querySelectorAll("form.score-form").forEach(function (form) {
    var out = form.querySelector("output");
    var inputs = form.querySelectorAll("input.score-input");
    function update() {
      var sum = 0, all = true;
      inputs.forEach(function (i) {
        var v = parseFloat(String(i.value).replace(",", "."));
        if (isNaN(v)) { all = false; } else { sum += v; }
      });
      out.textContent = all ? String(Math.round(sum * 100) / 100) : "—";
    }
    inputs.forEach(function (i) { i.addEventListener("input", update); });
    update();
  });
  document.querySelectorAll(".js-only-hint").forEach(function (e) { e.hidden = true; });
})();
