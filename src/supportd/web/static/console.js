// supportd staff console: the live queue, and canned replies inserted in place. Every
// page works without this file (the queue is then current as of its loading, and the
// Insert button asks the server to put the text in the reply box).
"use strict";

// The queue: ask the server for its first page every few seconds and swap the rows in
// when something changed. Rows that are new or changed are marked, and a polite live
// region says how many, so nobody has to watch the table.
function liveQueue(region) {
  var url = region.getAttribute("data-updates");
  var every = parseInt(region.getAttribute("data-poll-ms"), 10) || 10000;
  var live = document.getElementById("queue-live");
  var version = null;
  var known = rowsIn(region);

  function rowsIn(root) {
    var found = {};
    var rows = root.querySelectorAll("tr[data-case]");
    for (var i = 0; i < rows.length; i++) {
      found[rows[i].getAttribute("data-case")] = rows[i].getAttribute("data-version");
    }
    return found;
  }

  function say(text) {
    if (live) {
      live.textContent = text;
    }
  }

  function apply(data) {
    var changed = [];
    var next = {};
    for (var i = 0; i < data.rows.length; i++) {
      var row = data.rows[i];
      next[row.id] = row.version;
      if (known[row.id] !== row.version) {
        changed.push(row.id);
      }
    }
    region.innerHTML = data.html;
    for (var j = 0; j < changed.length; j++) {
      var tr = region.querySelector('tr[data-case="' + changed[j] + '"]');
      if (tr) {
        tr.classList.add("row-updated");
      }
    }
    if (changed.length === 1) {
      say("1 case is new or changed.");
    } else if (changed.length > 1) {
      say(changed.length + " cases are new or changed.");
    }
    known = next;
    version = data.version;
  }

  function poll() {
    if (document.hidden) {
      window.setTimeout(poll, every);
      return;
    }
    window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          say("You are signed out. Reload the page to sign in again.");
          return "stop";
        }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data === "stop") {
          return;
        }
        // Never pull the table from under someone working in it: try again next time.
        var focused = region.contains(document.activeElement);
        if (data && /^[0-9a-f]+$/.test(data.version) && data.version !== version && !focused) {
          apply(data);
        }
        window.setTimeout(poll, every);
      })
      .catch(function () {
        window.setTimeout(poll, every);
      });
  }

  window.setTimeout(poll, every);
}

// Insert: put the chosen canned reply after what is typed in the reply box.
function cannedInsert(button) {
  button.addEventListener("click", function (event) {
    var select = document.getElementById("canned");
    var reply = document.getElementById("reply");
    if (!select || !reply || !/^[0-9]+$/.test(select.value)) {
      return; // the server explains what to choose
    }
    var template = document.querySelector('template[data-canned="' + select.value + '"]');
    if (!template) {
      return;
    }
    event.preventDefault();
    var text = template.content.textContent;
    var typed = reply.value.replace(/\s+$/, "");
    reply.value = typed ? typed + "\n\n" + text : text;
    reply.focus();
    reply.setSelectionRange(reply.value.length, reply.value.length);
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var region = document.querySelector("#queue-results[data-updates]");
  if (region && window.fetch) {
    liveQueue(region);
  }
  var buttons = document.querySelectorAll("button[data-insert-canned]");
  for (var i = 0; i < buttons.length; i++) {
    cannedInsert(buttons[i]);
  }
});
