// Gatehouse pages work without this script. It adds what needs one:
// copy buttons, the live expiration date, the scope tree (a checked parent
// checks and locks its children) and closing the account menu.
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
