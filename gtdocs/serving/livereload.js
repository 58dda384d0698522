// Live reload for `gtdocs serve`, injected into every HTML page it serves (never into built files).
// It reloads the page after each successful build that rebuilt it, keeping the scroll position and
// an open full-instructions dialog, and shows the errors of a failed build over the last good page.
// On a bundle's pages it also shows the findings of `gtdocs check` for that bundle in a corner panel.
(function (state) {
  "use strict";
  var served = state.build;
  var viewKey = "gtdocs-view:" + location.pathname;
  var overlay = null;
  var panel = null;
  var bundle = decodeURIComponent(location.pathname.split("/")[1] || "");

  function fullDialog() {
    return document.getElementById("full-instructions");
  }

  function saveView() {
    var dialog = fullDialog();
    var view = {
      x: window.scrollX,
      y: window.scrollY,
      fullOpen: !!(dialog && dialog.open),
      fullTop: dialog ? dialog.scrollTop : 0
    };
    try {
      sessionStorage.setItem(viewKey, JSON.stringify(view));
    } catch (error) {
      // Storage is disabled: the reload still happens, at the top of the page.
    }
  }

  function restoreView() {
    var saved = null;
    try {
      saved = sessionStorage.getItem(viewKey);
      sessionStorage.removeItem(viewKey);
    } catch (error) {
      return;
    }
    if (!saved) {
      return;
    }
    var view = JSON.parse(saved);
    var dialog = fullDialog();
    var apply = function () {
      if (view.fullOpen && dialog && dialog.showModal) {
        if (!dialog.open) {
          dialog.showModal();
        }
        dialog.scrollTop = view.fullTop;
      }
      window.scrollTo(view.x, view.y);
    };
    apply();
    // Once images have loaded the page may be taller, so scroll again.
    window.addEventListener("load", apply);
  }

  function showErrors(errors) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "gtdocs-error-overlay";
      overlay.setAttribute("role", "alert");
      // A popover sits in the top layer, so it shows above an open modal dialog too.
      if (overlay.showPopover) {
        overlay.setAttribute("popover", "manual");
      }
      overlay.style.cssText = "position:fixed;inset:0 0 auto 0;z-index:2147483647;margin:0;width:auto;" +
        "height:auto;max-height:60vh;overflow:auto;padding:1em 1.25em;border:0;border-bottom:4px solid #c4161c;" +
        "background:#fff5f5;color:#1f2328;font:14px/1.45 system-ui,sans-serif;box-shadow:0 4px 16px rgba(0,0,0,.25)";
      document.body.appendChild(overlay);
    }
    var title = document.createElement("strong");
    title.textContent = "The build failed. This page still shows the last good build. Fix the following and save:";
    var list = document.createElement("pre");
    list.style.cssText = "margin:.6em 0 0;white-space:pre-wrap;font:13px/1.45 ui-monospace,monospace;color:#82071e";
    list.textContent = errors.join("\n");
    var hide = document.createElement("button");
    hide.type = "button";
    hide.id = "gtdocs-error-hide";
    hide.textContent = "Hide";
    hide.style.cssText = "float:right;margin-left:1em;font:inherit;cursor:pointer";
    hide.addEventListener("click", hideErrors);
    overlay.replaceChildren(hide, title, list);
    if (overlay.showPopover && !overlay.matches(":popover-open")) {
      overlay.showPopover();
    }
  }

  function hideErrors() {
    if (overlay) {
      overlay.remove();
      overlay = null;
    }
  }

  function showFindings(findings) {
    var found = findings && findings[bundle];
    if (!found) {
      if (panel) {
        panel.remove();
        panel = null;
      }
      return;
    }
    if (!panel) {
      panel = document.createElement("details");
      panel.id = "gtdocs-findings";
      panel.style.cssText = "position:fixed;right:12px;bottom:12px;z-index:2147483646;max-width:min(560px,90vw);" +
        "max-height:50vh;overflow:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px;" +
        "box-shadow:0 4px 16px rgba(0,0,0,.18);font:13px/1.45 system-ui,sans-serif;color:#1f2328;padding:.4em .8em";
      document.body.appendChild(panel);
    }
    var counts = {error: 0, warning: 0, info: 0};
    found.forEach(function (finding) { counts[finding.severity] = (counts[finding.severity] || 0) + 1; });
    var summary = document.createElement("summary");
    summary.style.cssText = "cursor:pointer;font-weight:600";
    var count = function (n, word) { return n + " " + word + (n === 1 ? "" : "s"); };
    summary.textContent = found.length === 0 ? "gtdocs check: no findings" :
      "gtdocs check: " + count(counts.error, "error") + ", " + count(counts.warning, "warning") + ", " +
      count(counts.info, "info");
    summary.style.color = counts.error ? "#c4161c" : (counts.warning ? "#9a6700" : "#1a7f37");
    var list = document.createElement("ul");
    list.style.cssText = "margin:.4em 0;padding-left:1.2em";
    found.forEach(function (finding) {
      var item = document.createElement("li");
      item.textContent = finding.text;
      list.appendChild(item);
    });
    panel.replaceChildren(summary, list);
  }

  // Whether a build changed this page: the site's index page changes with every build.
  function rebuiltThisPage(next) {
    if (!next.bundles) {
      return true;
    }
    var first = decodeURIComponent(location.pathname.split("/")[1] || "");
    return first === "" || first === "index.html" || next.bundles.indexOf(first) >= 0;
  }

  function onBuild(next) {
    if (!next.ok) {
      showErrors(next.errors);
    } else if (next.build === served) {
      hideErrors();
      showFindings(next.findings);
    } else if (rebuiltThisPage(next)) {
      saveView();
      location.reload();
    } else {
      served = next.build;
      hideErrors();
      showFindings(next.findings);
    }
  }

  onBuild(state);
  restoreView();
  if (window.EventSource) {
    var events = new EventSource("/.gtdocs/events");
    events.addEventListener("build", function (event) {
      onBuild(JSON.parse(event.data));
    });
    events.addEventListener("findings", function (event) {
      var next = JSON.parse(event.data);
      if (next.build === served) {
        showFindings(next.findings);
      }
    });
  }
})(GTDOCS_STATE);
