// Small enhancements only: every page works without this file.
(function () {
  "use strict";

  // Move focus to the error summary so screen reader and keyboard users start there.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }

  // "None of these" cannot be ticked together with a symptom.
  document.querySelectorAll("[data-exclusive-group]").forEach(function (group) {
    var boxes = group.querySelectorAll("input[type=checkbox]");
    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        if (!box.checked) { return; }
        var exclusive = box.value === group.getAttribute("data-exclusive-group");
        boxes.forEach(function (other) {
          if (other !== box && (exclusive || other.value === group.getAttribute("data-exclusive-group"))) {
            other.checked = false;
          }
        });
      });
    });
  });

  // Say so when the device's time zone is not the clinic's: times shown are clinic times.
  var note = document.querySelector("[data-clinic-zone]");
  if (note && window.Intl && Intl.DateTimeFormat) {
    var here = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (here && here !== note.getAttribute("data-clinic-zone")) {
      note.querySelector("[data-device-zone]").textContent = here.replace(/_/g, " ");
      note.hidden = false;
    }
  }

  // Show only the follow-up question that fits the chosen answer (all show without JavaScript).
  document.querySelectorAll("[data-reveal-for]").forEach(function (block) {
    var radios = document.querySelectorAll("input[type=radio][name='" + block.getAttribute("data-reveal-for") + "']");
    function update() {
      var chosen = document.querySelector("input[type=radio][name='" + block.getAttribute("data-reveal-for") + "']:checked");
      block.hidden = !chosen || chosen.value !== block.getAttribute("data-reveal-value");
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  });

  // In the desk calendar a click anywhere in a free cell starts a booking, not only on "Book".
  document.querySelectorAll("td.cell--free").forEach(function (cell) {
    var link = cell.querySelector("a.free-link");
    if (!link) { return; }
    cell.classList.add("cell--clickable");
    cell.addEventListener("click", function (event) {
      if (!link.contains(event.target)) { link.click(); }
    });
  });

  // One press books once: stop a second submit while the first is on its way.
  document.querySelectorAll("form[data-prevent-double-submit]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitted")) { event.preventDefault(); return; }
      form.setAttribute("data-submitted", "true");
    });
  });

  // The print version offers a Print button when the browser can print from script.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // A Copy button beside a read-only link, where the browser lets script write to the clipboard.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.querySelector("[data-copy-status]");
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) { status.textContent = "Copied."; }
      }, function () {
        field.select();
        if (status) { status.textContent = "Copying did not work: the link is selected, copy it yourself."; }
      });
    });
  });
})();
