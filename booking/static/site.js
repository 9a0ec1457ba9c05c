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

  // Switching language keeps what was typed. The link opened the page afresh, every box empty:
  // now, when something has been typed, the page is fetched in the chosen language and the typing
  // is put into it. Nothing is stored anywhere on the way (the words may be health data). Without
  // this script, or if the page comes back as another page, the link works as a link.

  // Whether the form holds anything: a page sent back with a problem holds what was typed as its
  // defaults, and switching language to read the problem must keep that too.
  function typedInto(form) {
    return Array.prototype.some.call(form.elements, function (field) {
      if (!field.name || /^(hidden|password|file|submit|button|reset)$/.test(field.type)) { return false; }
      if (field.type === "checkbox" || field.type === "radio") { return field.checked; }
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (option) { return option.selected !== option.defaultSelected; });
      }
      return field.value !== "";
    });
  }

  function carryTyping(from, to) {
    var seen = {};
    Array.prototype.forEach.call(from.elements, function (field) {
      if (!field.name || /^(hidden|password|file|submit|button|reset)$/.test(field.type)) { return; }
      var same = to.querySelectorAll("[name='" + CSS.escape(field.name) + "']");
      if (field.type === "checkbox" || field.type === "radio") {
        Array.prototype.forEach.call(same, function (other) {
          if (other.value === field.value) { other.toggleAttribute("checked", field.checked); }
        });
        return;
      }
      var index = seen[field.name] = (seen[field.name] === undefined ? 0 : seen[field.name] + 1);
      var other = same[index];  // boxes of one name (the note's rows) in the order the page has them
      if (!other || other.tagName !== field.tagName) { return; }
      if (field.tagName === "SELECT") {
        Array.prototype.forEach.call(other.options, function (option) {
          var chosen = Array.prototype.some.call(field.options, function (mine) { return mine.selected && mine.value === option.value; });
          option.toggleAttribute("selected", chosen);
        });
      } else if (field.tagName === "TEXTAREA") {
        other.textContent = field.value;
      } else {
        other.setAttribute("value", field.value);
      }
    });
  }

  document.querySelectorAll(".language-nav a").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }  // a new tab
      var forms = Array.prototype.slice.call(document.querySelectorAll("main form"));
      if (!forms.some(typedInto) || !window.fetch || !window.DOMParser || !window.CSS || !CSS.escape) { return; }
      event.preventDefault();
      fetch(link.href, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (response) {
        if (!response.ok || new URL(response.url).pathname !== window.location.pathname) {
          window.location.href = link.href;
          return;
        }
        return response.text().then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var freshForms = fresh.querySelectorAll("main form");
          forms.forEach(function (form, index) { if (freshForms[index]) { carryTyping(form, freshForms[index]); } });
          document.open();
          document.write("<!DOCTYPE html>" + fresh.documentElement.outerHTML);
          document.close();
          // Not a page load, which a screen reader announces: the page's heading takes focus instead
          // (the error summary, when the page shows one, has already taken it).
          var heading = document.querySelector("main h1");
          if (heading && !document.querySelector(".error-summary")) {
            heading.setAttribute("tabindex", "-1");
            heading.focus();
          }
        });
      }).catch(function () { window.location.href = link.href; });
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
