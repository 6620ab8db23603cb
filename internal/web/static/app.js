// Gatehouse pages work without this script. It adds what needs one:
// copy buttons, the live expiration date, the scope tree (a checked parent
// checks and locks its children), the fine-grained token form (the
// resource owner decides which permissions and expirations apply; the
// repository picker searches as you type) and closing the account menu.
(function () {
  "use strict";

  // Copy buttons: data-copy names the element whose text or value to copy.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.dataset.copy);
      if (!el) return;
      var text = (el.value !== undefined ? el.value : el.textContent).trim();
      var status = btn.parentElement.parentElement.querySelector(".copy-status");
      var label = btn.textContent;
      navigator.clipboard.writeText(text).then(function () {
        btn.textContent = btn.dataset.copied;
        btn.classList.add("copied");
        if (status) status.textContent = btn.dataset.copied;
        setTimeout(function () {
          btn.textContent = label;
          btn.classList.remove("copied");
        }, 2500);
      }, function () {
        // No clipboard access: select the text so that Ctrl+C works.
        var range = document.createRange();
        range.selectNodeContents(el);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        if (el.select) el.select();
      });
    });
  });

  // Expiration: show the resulting date as the choice changes. Dates are
  // in UTC, like the server's.
  var select = document.getElementById("expires");
  if (select) {
    var help = document.getElementById("expiry-help");
    var warning = document.getElementById("never-warning");
    var custom = document.getElementById("custom-date");
    var dateInput = document.getElementById("expires_date");
    var enDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    var enMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    var jaDays = ["日", "月", "火", "水", "木", "金", "土"];
    var format = function (d) {
      if (select.dataset.lang === "ja") {
        return d.getUTCFullYear() + "年" + (d.getUTCMonth() + 1) + "月" + d.getUTCDate() + "日(" + jaDays[d.getUTCDay()] + ")";
      }
      return enDays[d.getUTCDay()] + ", " + enMonths[d.getUTCMonth()] + " " + d.getUTCDate() + " " + d.getUTCFullYear();
    };
    var update = function () {
      var v = select.value;
      custom.hidden = v !== "custom";
      warning.hidden = v !== "none";
      if (v === "none") {
        help.textContent = select.dataset.neverText;
      } else if (v === "custom") {
        var parts = (dateInput.value || "").split("-");
        if (parts.length === 3) {
          var d = new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2]));
          help.textContent = select.dataset.dateText.replace("%s", format(d));
        } else {
          help.textContent = select.dataset.customText;
        }
      } else {
        var days = parseInt(v, 10);
        help.textContent = select.dataset.dateText.replace("%s", format(new Date(Date.now() + days * 86400000)));
      }
    };
    select.addEventListener("change", function () {
      update();
      if (select.value === "custom") dateInput.focus();
    });
    dateInput.addEventListener("change", update);
    dateInput.addEventListener("input", update);
    update();
  }

  // Scope tree: a checked parent includes its children.
  var sync = function (box) {
    box.closest("li").querySelectorAll(":scope > ul input[type=checkbox]").forEach(function (child) {
      child.checked = box.checked;
      child.disabled = box.checked;
    });
  };
  document.querySelectorAll(".scope-tree input[data-parent]").forEach(function (box) {
    box.addEventListener("change", function () { sync(box); });
  });

  // Fine-grained token form. Without the script the server does the same:
  // it refuses what the owner does not allow, and the picker's Search
  // button shows the form again with the matching repositories.
  var fgForm = document.getElementById("fg-token-form");
  if (fgForm) {
    var owner = document.getElementById("target_name");
    var expiresSelect = document.getElementById("expires");
    var expiresDate = document.getElementById("expires_date");
    var isoDay = function (d) { return d.toISOString().slice(0, 10); };
    var applyOwner = function () {
      var opt = owner.options[owner.selectedIndex];
      var isOrg = !!(opt && opt.dataset.org);
      var maxDays = opt ? parseInt(opt.dataset.maxDays || "0", 10) : 0;
      // Organization permissions need an organization as the owner,
      // account permissions the user's own account; a hidden select is
      // disabled so that it is not sent.
      fgForm.querySelectorAll(".perm-group").forEach(function (g) {
        var off = (g.dataset.group === "organization" && !isOrg) || (g.dataset.group === "account" && isOrg);
        g.hidden = off;
        g.querySelectorAll("select").forEach(function (sel) { sel.disabled = off; });
      });
      // An organization's tokens must expire, within its longest lifetime.
      if (!expiresSelect) return;
      var changed = false;
      Array.prototype.forEach.call(expiresSelect.options, function (o) {
        var days = parseInt(o.value, 10);
        o.disabled = isOrg && (o.value === "none" || (maxDays > 0 && !isNaN(days) && days > maxDays));
      });
      var current = expiresSelect.options[expiresSelect.selectedIndex];
      if (current && current.disabled) {
        var fallback = expiresSelect.querySelector('option[value="30"]:not([disabled])') || expiresSelect.querySelector("option:not([disabled])");
        if (fallback) {
          expiresSelect.value = fallback.value;
          changed = true;
        }
      }
      if (expiresDate) {
        var latest = expiresDate.dataset.siteMax || "";
        if (isOrg && maxDays > 0) {
          var orgLatest = isoDay(new Date(Date.now() + (maxDays - 1) * 86400000));
          if (!latest || orgLatest < latest) latest = orgLatest;
        }
        if (latest) expiresDate.max = latest; else expiresDate.removeAttribute("max");
      }
      if (changed) expiresSelect.dispatchEvent(new Event("change"));
    };

    var picker = document.getElementById("repo-picker");
    var query = document.getElementById("repo_query");
    var results = document.getElementById("repo-results");
    var chosen = document.getElementById("repo-selected");
    var note = document.getElementById("repo-results-note");
    var selectionOwner = document.getElementById("selection_owner");
    var searchButton = document.getElementById("repo-search");
    // Searching as you type replaces the button, which would otherwise
    // also be the button Enter presses.
    if (searchButton) searchButton.remove();
    var timer = null;
    var seq = 0;
    // A checked repository moves to the chosen ones, an unchecked one
    // back to the results.
    var watch = function (li) {
      var box = li.querySelector("input[type=checkbox]");
      box.addEventListener("change", function () {
        if (box.checked) {
          chosen.appendChild(li);
        } else {
          results.insertBefore(li, results.firstChild);
        }
      });
    };
    var item = function (repo) {
      var li = document.createElement("li");
      var label = document.createElement("label");
      label.className = "choice";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.name = "repositories";
      box.value = repo.name;
      var name = document.createElement("span");
      name.className = "mono";
      name.textContent = repo.full_name;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" "));
      label.appendChild(name);
      if (repo["private"]) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = picker.dataset["private"];
        label.appendChild(document.createTextNode(" "));
        label.appendChild(badge);
      }
      li.appendChild(label);
      watch(li);
      return li;
    };
    var search = function () {
      var n = ++seq;
      var params = new URLSearchParams();
      params.set("target_name", owner.value);
      params.set("q", query.value);
      chosen.querySelectorAll("input[name=repositories]").forEach(function (b) { params.append("selected", b.value); });
      fetch(picker.dataset.endpoint + "?" + params.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (res) {
          var type = res.headers.get("Content-Type") || "";
          if (!res.ok || type.indexOf("application/json") !== 0) throw new Error("picker: " + res.status);
          return res.json();
        })
        .then(function (data) {
          if (n !== seq) return; // an answer to an older search
          results.textContent = "";
          data.repositories.forEach(function (repo) { results.appendChild(item(repo)); });
          if (data.repositories.length === 0) {
            note.textContent = query.value ? picker.dataset.noMatch : picker.dataset.empty;
          } else {
            note.textContent = data.truncated ? picker.dataset.more : "";
          }
        })
        .catch(function () { /* sudo mode ended or the network failed: the form still works */ });
    };
    if (picker && query && results && chosen) {
      picker.querySelectorAll(".picker-list li").forEach(watch);
      query.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(search, 150);
      });
      query.addEventListener("keydown", function (e) {
        if (e.key === "Enter") {
          e.preventDefault();
          clearTimeout(timer);
          search();
        }
      });
    }
    owner.addEventListener("change", function () {
      applyOwner();
      if (picker && chosen) {
        // The chosen repositories were the previous owner's.
        chosen.textContent = "";
        selectionOwner.value = owner.value;
        search();
      }
    });
    applyOwner();
  }

  // Account menu: close on Escape or a click elsewhere.
  var menu = document.getElementById("avatar-menu");
  if (menu) {
    document.addEventListener("click", function (e) {
      if (menu.open && !menu.contains(e.target)) menu.open = false;
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  }
})();
