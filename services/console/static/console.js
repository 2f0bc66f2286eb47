// Tickwork console: progressive enhancement only; every page works without it.
// Action forms post with fetch (CSRF token in a header); live parts poll small JSON endpoints.
(function () {
  "use strict";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const FINAL = ["completed", "failed", "cancelled", "skipped"];

  function flash(text, bad) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    box.classList.toggle("bad", !!bad);
  }

  function badge(state) {
    const span = document.createElement("span");
    span.className = "state s-" + state;
    span.textContent = state;
    return span;
  }

  async function post(form, submitter) {
    const body = new URLSearchParams(new FormData(form));
    if (submitter && submitter.name) body.set(submitter.name, submitter.value);
    const reply = await fetch(form.action, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body,
      credentials: "same-origin",
    });
    let data = {};
    try { data = await reply.json(); } catch (e) { data = { error: reply.statusText }; }
    if (!reply.ok) { flash(data.error || ("refused: " + reply.status), true); return; }
    flash(data.notice || "done");
    if (form.dataset.follow && data.location) { window.location.assign(data.location); return; }
    if (form.dataset.reload) { setTimeout(function () { window.location.reload(); }, 600); }
    if (liveTask) pollTask();
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.classList || !form.classList.contains("act")) return;
    event.preventDefault();
    const submitter = event.submitter;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    post(form, submitter).catch(function (error) { flash("request failed: " + error, true); });
  });

  const selectAll = document.getElementById("select-all");
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      document.querySelectorAll('#task-table input[name="ids"]').forEach(function (box) { box.checked = selectAll.checked; });
    });
  }

  // -- one task: state, progress, step, log and timeline, every second until it is final --------
  const taskBox = document.querySelector("[data-live-task]");
  const liveTask = taskBox ? taskBox.dataset.liveTask : null;
  let taskTimer = null;

  async function pollTask() {
    const reply = await fetch("/console/tasks/" + encodeURIComponent(liveTask) + "/live", { headers: { "Accept": "application/json" } });
    if (!reply.ok) return;
    const t = await reply.json();
    const state = document.getElementById("state");
    state.replaceChildren(badge(t.state));
    document.getElementById("progress").value = t.progress;
    document.getElementById("percent").textContent = Math.round(t.progress * 100) + " %";
    document.getElementById("step").textContent = t.step || "—";
    document.getElementById("attempts").textContent = t.attempts;
    const log = document.getElementById("log");
    const text = t.log.join("\n");
    if (log.textContent !== text) { log.textContent = text; log.scrollTop = log.scrollHeight; }
    const timeline = document.getElementById("timeline");
    timeline.replaceChildren.apply(timeline, t.timeline.map(function (e) {
      const li = document.createElement("li");
      const time = document.createElement("time");
      time.textContent = e.at.slice(0, 19).replace("T", " ");
      const b = document.createElement("b");
      b.textContent = e.event;
      li.append(time, " ", b, " " + e.detail);
      return li;
    }));
    if (t.error) {
      document.getElementById("error-box").hidden = false;
      document.getElementById("error").textContent = t.error;
    }
    const cancel = document.getElementById("cancel-action");
    if (cancel) cancel.hidden = !t.cancellable;
    if (FINAL.indexOf(t.state) >= 0) {
      document.getElementById("log-live").textContent = "";
      clearInterval(taskTimer);
      taskTimer = null;
    }
  }
  if (liveTask) {
    const log = document.getElementById("log");
    log.scrollTop = log.scrollHeight;
    const initial = document.querySelector("#state .state");
    if (!initial || FINAL.indexOf(initial.textContent) < 0) taskTimer = setInterval(function () { pollTask().catch(function () {}); }, 1000);
  }

  // -- the task list: active rows' state and progress bars -----------------------------------------
  const activeRows = Array.from(document.querySelectorAll("tr[data-active]"));
  if (activeRows.length) {
    const ids = activeRows.map(function (row) { return "id=" + encodeURIComponent(row.dataset.task); }).join("&");
    const listTimer = setInterval(async function () {
      const reply = await fetch("/console/tasks/live?" + ids, { headers: { "Accept": "application/json" } }).catch(function () { return null; });
      if (!reply || !reply.ok) return;
      const found = await reply.json();
      let still = 0;
      activeRows.forEach(function (row) {
        const t = found[row.dataset.task];
        if (!t) return;
        row.querySelector(".cell-state").replaceChildren(badge(t.state));
        const cell = row.querySelector(".cell-progress");
        if (t.state === "running") {
          let bar = cell.querySelector("progress");
          if (!bar) { bar = document.createElement("progress"); bar.max = 1; const step = document.createElement("span"); step.className = "step"; cell.replaceChildren(bar, " ", step); }
          bar.value = t.progress;
          cell.querySelector(".step").textContent = t.step || "";
        } else {
          cell.replaceChildren();
        }
        if (FINAL.indexOf(t.state) < 0) still += 1;
      });
      if (!still) clearInterval(listTimer);
    }, 1500);
  }

  // -- pages that say so refresh themselves (the overview, workers), unless the user is typing ----
  const every = document.body.querySelector("[data-refresh]");
  if (every) {
    setInterval(function () {
      if (document.activeElement && ["INPUT", "SELECT", "TEXTAREA"].indexOf(document.activeElement.tagName) >= 0) return;
      window.location.reload();
    }, 1000 * parseInt(every.dataset.refresh, 10));
  }
})();
