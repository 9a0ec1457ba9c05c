// The treatment note's editor, enhanced: the draft saves itself as the practitioner types, and
// the point picker becomes a search box. The page works fully without this file (Save and the
// grouped select post the form), so everything here only adds.
(function () {
  "use strict";

  var form = document.querySelector("form[data-note-form]");
  if (!form || !window.fetch || !window.FormData) { return; }

  var status = form.querySelector("[data-note-status]");
  var revision = form.querySelector("[data-revision]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var SAVE_AFTER_MS = 1500;
  var timer = null;
  var changed = false;
  var saving = false;
  var again = false;

  function say(words) { status.textContent = words; }

  // --- autosave ---------------------------------------------------------------------------

  function save() {
    window.clearTimeout(timer);
    if (!changed) { return; }
    if (saving) { again = true; return; }
    changed = false;
    saving = true;
    var body = new FormData(form);
    body.delete("csrf_token");
    fetch(form.getAttribute("data-autosave-url"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      return (json ? response.json() : Promise.resolve({})).then(function (answer) {
        if (response.ok && answer.revision) {
          revision.value = answer.revision;
          say("Saved at " + answer.saved_at + "." + (updateCautions(answer) ?
            " Check the cautions above the buttons before signing." : ""));
          updateCodes(answer.codes);
          clearProblems();
        } else {
          changed = true;  // still to be saved
          say("Not saved: " + (answer.message ||
            "your session may have ended. Press Save draft to save, or copy your words before leaving."));
        }
      });
    }).catch(function () {
      changed = true;
      say("Not saved: the clinic's server could not be reached. Your words are still here; try Save draft.");
    }).then(function () {
      saving = false;
      if (resubmit) {
        resubmit = false;
        if (form.requestSubmit) { form.requestSubmit(held || undefined); } else { form.submit(); }
        held = null;
        return;
      }
      if (again) { again = false; changed = true; save(); }
    });
  }

  // A save that went through means every box now holds what it may: the messages of a refused
  // save, at the top and beside each box, no longer apply.
  function clearProblems() {
    document.querySelectorAll(".error-summary, form[data-note-form] .error-message").forEach(function (node) {
      node.remove();
    });
    form.querySelectorAll(".form-group--error").forEach(function (group) { group.classList.remove("form-group--error"); });
    form.querySelectorAll("[aria-describedby]").forEach(function (control) {
      var kept = control.getAttribute("aria-describedby").split(" ").filter(function (id) {
        return id && !/-error$/.test(id);
      });
      if (kept.length) { control.setAttribute("aria-describedby", kept.join(" ")); }
      else { control.removeAttribute("aria-describedby"); }
    });
  }

  function typed() {
    changed = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(save, SAVE_AFTER_MS);
  }

  function isNoteField(target) {
    return target.name && target.name.indexOf("add_point_") !== 0 && target.name !== "template" &&
      target.name !== "template_name" && target.getAttribute("data-point-search") === null;
  }

  form.addEventListener("input", function (event) { if (isNoteField(event.target)) { typed(); } });
  // Boxes that take typing report it as "input"; their "change" on leaving would only save twice.
  form.addEventListener("change", function (event) {
    var box = event.target.tagName === "TEXTAREA" || event.target.type === "text";
    if (!box && isNoteField(event.target)) { typed(); }
  });
  form.addEventListener("focusout", function (event) { if (changed && isNoteField(event.target)) { save(); } });
  // A button that posts the form sends the words itself: no save may race it.
  // A button pressed while a save is on its way (leaving a box to press it saves it) waits for
  // that save: the form then carries the revision it made, rather than look out of date.
  var held = null;
  var resubmit = false;
  form.addEventListener("submit", function (event) {
    window.clearTimeout(timer);
    changed = false;
    again = false;
    if (saving) {
      event.preventDefault();
      held = event.submitter || null;
      resubmit = true;
      say("Saving\u2026");
    }
  });

  // --- the cautions to check before signing --------------------------------------------------

  // The note's words against the patient's precautions, as the save just read them: put in when
  // they differ from those shown, with the tick cleared (what was ticked was another list).
  // Returns whether cautions are shown that are to be ticked again.
  function updateCautions(answer) {
    var shown = form.querySelector("[data-note-cautions]");
    if (!shown || !answer.cautions_html) { return false; }
    var before = JSON.parse(shown.getAttribute("data-cautions") || "[]");
    var now = answer.cautions || [];
    if (JSON.stringify(before) === JSON.stringify(now)) { return false; }
    var holder = document.createElement("div");
    holder.innerHTML = answer.cautions_html;
    var fresh = holder.querySelector("[data-note-cautions]");
    if (!fresh) { return false; }
    shown.replaceWith(fresh);
    return now.length > 0;
  }

  // --- the codes the receipt will show -------------------------------------------------------

  function fillList(holder, items, empty) {
    var list = document.createElement(items.length ? "ul" : "p");
    if (items.length) {
      list.className = "plain-list";
      items.forEach(function (item) {
        var line = document.createElement("li");
        var code = document.createElement("strong");
        code.textContent = item.code;
        line.appendChild(code);
        line.appendChild(document.createTextNode(item.text));
        list.appendChild(line);
      });
    } else {
      list.textContent = empty;
    }
    list.setAttribute(holder.getAttribute("data-codes-procedures") !== null ? "data-codes-procedures" : "data-codes-diagnoses", "");
    holder.replaceWith(list);
  }

  function updateCodes(codes) {
    if (!codes) { return; }
    var procedures = form.querySelector("[data-codes-procedures]");
    var diagnoses = form.querySelector("[data-codes-diagnoses]");
    if (procedures) {
      fillList(procedures, codes.procedures.map(function (line) {
        return { code: line.code, text: " \u00d7 " + line.units + ": " + line.description };
      }), "None yet: record at least 8 minutes of personal contact time.");
    }
    if (diagnoses) {
      fillList(diagnoses, codes.diagnoses.map(function (found) {
        return { code: found.code, text: " " + found.title };
      }), "None chosen yet.");
    }
  }

  // --- point rows ----------------------------------------------------------------------------

  var rows = form.querySelector("[data-point-rows]");
  var rowTemplate = document.getElementById("point-row-template");
  var noPoints = rows.querySelector("[data-no-points]");
  var list = form.querySelector("[data-point-list]");
  var pickerSide = form.querySelector("[data-picker-side]");
  var pickerTechnique = form.querySelector("[data-picker-technique]");
  var made = rows.querySelectorAll("[data-point-row]").length;

  function showEmpty() { noPoints.hidden = rows.querySelectorAll("[data-point-row]").length > 0; }

  function removeRow(row) {
    var next = row.nextElementSibling && row.nextElementSibling.matches("[data-point-row]") ?
      row.nextElementSibling : row.previousElementSibling;
    var name = row.querySelector("legend").textContent;
    row.remove();
    showEmpty();
    say("Removed " + name + ".");
    var focus = next && next.querySelector("[data-remove-point]");
    (focus || list).focus();
    typed();
  }

  rows.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-point]");
    if (!button) { return; }
    event.preventDefault();
    removeRow(button.closest("[data-point-row]"));
  });

  function addRow(option) {
    var code = option.value;
    var side = pickerSide.value ||
      (option.getAttribute("data-channel") === "GV" || option.getAttribute("data-channel") === "CV" ? "midline" : "both");
    var same = Array.prototype.some.call(rows.querySelectorAll("[data-point-row]"), function (row) {
      return row.querySelector("[data-point-code]").value === code && row.querySelector("[data-point-side]").value === side;
    });
    if (same) { say(option.textContent + " (" + side + ") is already in the list."); return; }
    made += 1;
    var n = "new" + made;
    var row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.id = "t_point_code-" + n;
    row.querySelectorAll("[id]").forEach(function (element) { element.id = element.id.replace("__N__", n); });
    row.querySelectorAll("label[for]").forEach(function (label) {
      label.setAttribute("for", label.getAttribute("for").replace("__N__", n));
    });
    row.querySelector("legend").textContent = option.textContent;
    row.querySelector(".point-row__remove [data-point-name]").textContent = " " + code;
    row.querySelector("[data-point-code]").value = code;
    var sideSelect = row.querySelector("[data-point-side]");
    sideSelect.querySelectorAll("option[value='']").forEach(function (empty) { empty.remove(); });
    sideSelect.value = side;
    row.querySelector("[data-point-technique]").value = pickerTechnique.value;
    row.querySelector("[data-remove-point]").value = "remove_point_" + n;
    rows.insertBefore(row, noPoints);
    showEmpty();
    say("Added " + option.textContent + ".");
    typed();
  }

  // Without a search, the grouped select's "Add point" adds the row here instead of posting the form.
  form.querySelector("[data-add-point]").addEventListener("click", function (event) {
    event.preventDefault();
    var option = list.options[list.selectedIndex];
    if (!option || !option.value) { say("Choose a point to add from the list."); list.focus(); return; }
    addRow(option);
    list.value = "";
  });

  // --- the point search: a combobox over the grouped select's options -----------------------

  function folded(words) {
    return words.normalize("NFD").replace(/[\u0300-\u036f\s\-_.]/g, "").toLowerCase();
  }

  var points = Array.prototype.filter.call(list.options, function (option) { return option.value; })
    .map(function (option) {
      var parts = option.textContent.split(" ");
      return { option: option, code: folded(option.value), name: folded(parts.slice(1).join(" ")) };
    });

  var search = document.createElement("div");
  search.className = "form-group point-search";
  search.innerHTML =
    '<label class="label" for="point-search">Find a point</label>' +
    '<div class="hint" id="point-search-hint">Type a code or a name, such as bl23 or shen; ' +
    'arrow keys to choose, Enter to add it with the side and technique below.</div>' +
    '<input class="input" id="point-search" type="text" role="combobox" autocomplete="off" spellcheck="false" ' +
    'aria-autocomplete="list" aria-expanded="false" aria-controls="point-results" aria-describedby="point-search-hint" ' +
    'data-point-search>' +
    '<ul class="point-results" id="point-results" role="listbox" aria-label="Matching points" hidden></ul>';
  var picker = form.querySelector("#point-picker");
  picker.insertBefore(search, picker.querySelector("h4").nextSibling);
  var box = search.querySelector("input");
  var results = search.querySelector("ul");
  var shown = [];
  var active = -1;

  function close() {
    results.hidden = true;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    var items = results.children;
    if (active >= 0 && items[active]) { items[active].setAttribute("aria-selected", "false"); }
    active = index;
    if (active >= 0 && items[active]) {
      items[active].setAttribute("aria-selected", "true");
      box.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }
  }

  function find() {
    var query = folded(box.value);
    results.textContent = "";
    if (!query) { close(); return; }
    var byCode = points.filter(function (p) { return p.code.indexOf(query) === 0; });
    var byName = points.filter(function (p) { return p.name.indexOf(query) === 0 && byCode.indexOf(p) < 0; });
    shown = byCode.concat(byName).slice(0, 12);
    shown.forEach(function (p, index) {
      var item = document.createElement("li");
      item.id = "point-result-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.textContent = p.option.textContent;
      item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(index); });
      results.appendChild(item);
    });
    if (!shown.length) {
      var none = document.createElement("li");
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      none.id = "point-result-none";
      none.textContent = "No point starts with that";
      results.appendChild(none);
    }
    results.hidden = false;
    box.setAttribute("aria-expanded", "true");
    highlight(shown.length ? 0 : -1);
  }

  function choose(index) {
    if (!shown[index]) { return; }
    addRow(shown[index].option);
    box.value = "";
    close();
    box.focus();
  }

  box.addEventListener("input", find);
  box.addEventListener("blur", close);
  box.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (results.hidden) { find(); return; }
      if (!shown.length) { return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + shown.length) % shown.length);
    } else if (event.key === "Enter") {
      event.preventDefault();  // never the form's default button from here
      if (!results.hidden && active >= 0) { choose(active); }
    } else if (event.key === "Escape" && !results.hidden) {
      event.preventDefault();
      close();
    }
  });
})();
