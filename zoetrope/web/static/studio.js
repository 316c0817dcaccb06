// The studio's shared client: calls to the /v1 API with the session's CSRF token, errors shown
// in place with the API's own message (an ended session: a link to sign in again), live progress
// bars, and spritesheet previews on hover.
"use strict";

const Studio = (() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`);
  const csrf = () => meta("csrf").content;

  // The API paths of every task the pages offer (zoetrope/api/routes: videos, images, tasks, safety).
  const tasks = {
    create: () => "/v1/videos",
    image: () => "/v1/images/generations",
    remix: (id) => `/v1/videos/${id}/remix`,
    extend: () => "/v1/videos/extensions",
    loop: (id) => `/v1/videos/${id}/loop`,
    blend: () => "/v1/videos/blends",
    recut: (id) => `/v1/videos/${id}/recut`,
    storyboard: () => "/v1/videos/storyboards",
    verify: () => "/v1/content_provenance_checks",
  };

  // `renewed`: the call again, once, after its token was refused (a session without the tag cookie)
  // and renewToken put a fresh one in.
  async function api(method, path, body, headers = {}, renewed = false) {
    // The browser signed in again since this page was made (in another tab): the new session's token
    // first, for reads too. Another account signed in: nothing is sent, and nothing of that account
    // is read into this page (its balance, its library); renewToken says so.
    if (!renewed && resigned()) await renewToken();
    const init = { method, headers: { "X-CSRF-Token": csrf(), ...headers }, credentials: "same-origin" };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {  // no answer at all: the network is down, or the server stopped
      const err = new Error(UNREACHABLE);
      err.network = true;
      throw err;
    }
    const data = await res.json().catch(() => ({}));
    if (method === "GET" && resigned()) {  // signed in elsewhere while it was read: read again, as that
      await renewToken();
      return api(method, path, body, headers, true);
    }
    if (res.status === 401) throw sessionEnded();  // signed out elsewhere, or the cookie expired
    if (res.status === 403 && !renewed && data.error && data.error.code === "csrf_failed") {
      await renewToken();  // signed out and in again elsewhere: this page's token was the old session's
      return api(method, path, body, headers, true);
    }
    drop("session-ended");  // signed in again (in another tab): the page's calls are answered again
    if (!res.ok) {
      const msg = (data.error && data.error.message) || `${res.status} ${res.statusText}`;
      const err = new Error(msg);
      err.status = res.status;
      err.param = data.error && data.error.param;  // the field the API's refusal names
      throw err;
    }
    if (method !== "GET" && !headers["Zoetrope-Quote"]) refreshCredits();  // a submit reserves credits
    return data;
  }

  const UNREACHABLE = "The studio cannot be reached: check your connection, or whether the server is running, and try again";

  // Which session the browser holds now (a cookie all its tabs share; zoetrope/web/session.py).
  const sessionTag = () => (document.cookie.match(/(?:^|;\s*)zoetrope_session_tag=([^;]*)/) || [])[1] || "";
  // The browser holds another session than this page was made for (signed out and in elsewhere).
  const resigned = () => sessionTag() !== meta("session").content;

  // The browser's cookie is shared by its tabs; a page's CSRF token is not. Signing out and in again
  // in another tab starts a new session with a new token: this asks the server for the token of the
  // session the cookie holds now and puts it in the page (its calls and its forms). Signed out: the
  // session-ended notice. Signed in as another account than the page was made for: nothing is sent
  // for that one (the page shows the first one's jobs and keys) unless `anyAccount` (signing out).
  async function renewToken(anyAccount = false) {
    let res;
    try {
      res = await fetch("/studio/csrf", { credentials: "same-origin", cache: "no-store" });
    } catch {
      const err = new Error(UNREACHABLE);
      err.network = true;
      throw err;
    }
    if (res.status === 401) throw sessionEnded();
    const data = await res.json().catch(() => ({}));
    if (!res.ok || !data.csrf) throw new Error((data.error && data.error.message) || `${res.status} ${res.statusText}`);
    drop("session-ended");  // signed in again, as whichever account
    if (data.account !== meta("account").content && !anyAccount) throw sessionChanged();
    meta("csrf").content = data.csrf;
    meta("session").content = sessionTag();
    document.querySelectorAll('input[name="csrf"]').forEach((el) => { el.value = data.csrf; });
    drop("session-changed");  // the page's own account signed in again
  }

  // A file over the server's upload limit is refused here, naming the field, before any of it is sent.
  function checkUpload(file, field) {
    const limit = Number(document.querySelector('meta[name="max-upload"]').content);
    if (!file || !limit || file.size <= limit) return;
    const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;
    throw new Error(`${field}: ${file.name} is ${mb(file.size)}; the limit is ${mb(limit)}: choose a smaller file`);
  }

  // A page's call answered 401: its session ended (signed out in another tab, the cookie expired, a
  // new password). Not the API's words about keys: the page says so once, above its content, with a
  // link to sign in and come back here; the error the caller shows says the same.
  const SESSION_ENDED = "Your session has ended: sign in again";
  // "Your session has ended: " and a link "sign in again" that comes back to this page.
  function sessionEndedText() {
    const a = document.createElement("a");
    a.href = `/signin?next=${encodeURIComponent(location.pathname + location.search)}`;
    a.textContent = "sign in again";
    return ["Your session has ended: ", a];
  }
  function sessionEnded() {
    notice("session-ended", sessionEndedText());
    const err = new Error(SESSION_ENDED);
    err.signIn = true;
    return err;
  }
  // Signed in as another account (in another tab) since this page was made: it says so once, with a
  // link that reloads it as that account; the error the caller shows says the same.
  const SWITCHED = "Another account signed in since this page was opened (in another tab), so nothing was sent";
  function sessionChanged() {
    const a = document.createElement("a");
    a.href = location.href;
    a.textContent = "reload the page";
    notice("session-changed", [`${SWITCHED}: `, a, " to go on as that account."]);
    const err = new Error(`${SWITCHED}: reload the page to go on as that account`);
    err.switched = true;
    return err;
  }
  // The notice `id` gone from the page, where it was.
  const drop = (id) => document.getElementById(id)?.remove();
  // A notice above the page's content, once.
  function notice(id, parts) {
    if (document.getElementById(id)) return;
    const p = document.createElement("p");
    p.id = id;
    p.className = "error";
    p.setAttribute("role", "alert");
    p.style.marginBottom = "1rem";
    p.append(...parts);
    (document.querySelector("main") || document.body).prepend(p);
  }

  // What a create would cost, nothing queued (the API's `Zoetrope-Quote: true`); refusals throw.
  const quote = (path, body) => api("POST", path, body, { "Zoetrope-Quote": "true" });
  // What a quote says `n` such requests take: credits on a plan that pays in credits, points on a
  // free plan's fast lane once its free generations are used, else nothing.
  const price = (q, n = 1) =>
    (q.points ? count(q.points * n, "point") : q.credits ? count(q.credits * n, "credit") : "free");
  // "1 credit", "8 credits".
  const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  // The header's credit count, read again from /v1/usage (after a submit, and when a job ends and
  // its reservation is captured or released).
  async function refreshCredits() {
    const el = document.querySelector("[data-credits]");
    if (!el) return;
    const usage = await api("GET", "/v1/usage").catch(() => null);
    if (!usage || typeof usage.credits !== "number") return;
    el.textContent = String(usage.credits);
    const word = document.querySelector("[data-credits-word]");
    if (word) word.textContent = usage.credits === 1 ? "credit" : "credits";
  }

  function showError(el, err) {
    if (!el) return;
    el.textContent = err ? (err.message || String(err)) : "";
    if (err && err.signIn) el.replaceChildren(...sessionEndedText());
    el.hidden = !err;
  }

  function setProgress(bar, pct) {
    bar.querySelector("i").style.width = `${pct}%`;
    bar.dataset.value = String(pct);
    bar.setAttribute("aria-valuenow", String(pct));
    const tile = bar.closest(".tile");
    if (tile) tile.dataset.progress = String(pct);
    const label = bar.parentElement.querySelector(".pct");
    if (label) label.textContent = `${pct} %`;
  }

  // The words beside a running job's bar, in a polite live region: a screen reader hears the job
  // start, lose and find the server again, and end, not every percent.
  function note(bar, text) {
    const el = noteOf(bar);
    if (el.textContent !== text) el.textContent = text;
  }
  function noteOf(bar) {
    const holder = bar.closest(".tile") || bar.closest("section") || bar.parentElement;
    let el = holder.querySelector(".note");
    if (!el) {
      el = document.createElement("p");
      el.className = "note muted";
      el.setAttribute("aria-live", "polite");
      holder.append(el);
    }
    return el;
  }
  const STATES = { queued: "Queued", in_progress: "Rendering" };
  const LOST = "Connection lost: still trying to reach the studio…";
  const NOT_OURS = "Another account is signed in: the job goes on, but cannot be followed as that account";
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // Poll a job until it is done; `onDone(video)` is called with the finished video object. A poll
  // that gets no answer (network down, server restarting, 5xx) is tried again, less often the longer
  // it lasts: the job goes on on the server, and the bar takes up where it left off. Polling stops
  // when the bar leaves the page (the job was cancelled). Signed in again since the page was made
  // (in another tab): api renews the token first, so that another account's 404 is not taken for a
  // deletion.
  async function watch(id, bar, onDone, onFail) {
    let wait = 400;
    for (;;) {
      let v;
      try {
        v = await api("GET", `/v1/videos/${id}`);
      } catch (e) {
        if (!bar.isConnected) return;
        if (e.status === 404 && resigned()) continue;  // a sign-in during the poll: asked above
        if (e.network || e.status >= 500 || e.status === 429 || e.signIn || e.switched) {
          // The job goes on on the server. Signed out (in another tab, say): the bar says so, with the
          // link to sign in again, and takes up where it left off once a sign-in answers its poll.
          // Another account signed in: the session-changed notice, and the same until the job's own
          // account signs in again.
          if (e.switched) note(bar, NOT_OURS);
          else if (!e.signIn) note(bar, LOST);
          else if (!noteOf(bar).querySelector("a")) noteOf(bar).replaceChildren(...sessionEndedText());
          wait = Math.min(wait * 2, 5000);
          await sleep(wait);
          continue;
        }
        onFail(e);
        return;
      }
      if (!bar.isConnected) return;
      wait = 400;
      setProgress(bar, v.status === "completed" ? 100 : v.progress);
      if (STATES[v.status]) note(bar, STATES[v.status]);
      if (v.status === "completed") return onDone(v);
      if (v.status === "failed") return onFail(new Error((v.error && v.error.message) || "generation failed"));
      await sleep(wait);
    }
  }

  function media(v) {
    const src = `/v1/videos/${v.id}/content`;
    if (v.seconds === "0") {
      const img = document.createElement("img");
      img.src = src;
      img.alt = v.prompt || "";
      return img;
    }
    const el = document.createElement("video");
    Object.assign(el, { src, controls: true, autoplay: true, muted: true, loop: true, playsInline: true });
    el.setAttribute("aria-label", v.prompt || "video");
    return el;
  }

  // A tile for a job that runs now: a progress bar and a Cancel button, then the player.
  function jobTile(v, container) {
    const tile = document.createElement("div");
    tile.className = "tile job";
    tile.dataset.id = v.id;
    const [w, h] = v.size.split("x");
    tile.innerHTML = `<div class="thumb" style="aspect-ratio:${w}/${h}"><div class="bar" role="progressbar"
      aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><i></i></div>
      <span class="pct" aria-hidden="true">0 %</span></div><p class="caption"></p>
      <div class="row between"><p class="note muted" aria-live="polite"></p>
      <button type="button" class="btn small" data-cancel>Cancel</button></div>`;
    tile.querySelector(".caption").textContent = v.prompt || "";
    const link = document.createElement("a");
    link.href = `/videos/${v.id}`;
    link.textContent = "Open";
    link.className = "small";
    container.prepend(tile);
    const thumb = tile.querySelector(".thumb");
    const bar = tile.querySelector(".bar");
    bar.setAttribute("aria-label", `Rendering: ${(v.prompt || "").slice(0, 80)}`);
    const cancel = tile.querySelector("[data-cancel]");
    const ended = (text, focused = document.activeElement === cancel) => {
      cancel.remove();
      const said = tile.querySelector(".note");
      said.textContent = text;
      if (focused) {  // the keyboard's place stays on the tile, not back at the top of the page
        said.tabIndex = -1;
        said.focus();
      }
    };
    // Cancelling deletes the job: it stops at its next step and its reserved credits come back.
    cancel.addEventListener("click", async () => {
      const focused = document.activeElement === cancel;  // before disabling it takes the focus away
      cancel.disabled = true;
      try {
        await api("DELETE", `/v1/videos/${v.id}`);
      } catch (e) {
        cancel.disabled = false;
        if (focused) cancel.focus();
        if (e.status !== 404) return note(bar, `Not cancelled: ${e.message}`);
      }
      tile.dataset.status = "cancelled";
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = "Cancelled";
      thumb.replaceChildren(p);
      ended("Cancelled", focused);
      refreshCredits();
    });
    setProgress(bar, v.progress || 0);
    note(bar, STATES[v.status] || "Queued");
    watch(v.id, bar, (done) => {
      refreshCredits();
      tile.dataset.status = "completed";
      thumb.replaceChildren(media(done));
      tile.querySelector(".caption").append(" ", link);
      ended("Done");
    }, (err) => {
      refreshCredits();
      if (err.status === 404) {  // deleted meanwhile, in another tab or by another client
        tile.dataset.status = "deleted";
        const p = document.createElement("p");
        p.className = "muted";
        p.textContent = "Deleted";
        thumb.replaceChildren(p);
        return ended("Deleted");
      }
      tile.dataset.status = "failed";
      const p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = err.message;
      thumb.replaceChildren(p);
      ended("");
    });
    return tile;
  }

  // Hover a library tile: step through its spritesheet (tiles 160 px wide, in a near-square grid).
  function spriteHover(thumb) {
    let timer = null;
    let sheet = null;
    const start = () => {
      const play = () => {
        const cols = Math.max(1, Math.round(sheet.naturalWidth / 160));
        const tileH = Math.max(1, Math.round(160 / parseFloat(thumb.dataset.aspect || "1")));
        const rows = Math.max(1, Math.round(sheet.naturalHeight / tileH));
        let k = 0;
        thumb.style.backgroundImage = `url("${sheet.src}")`;
        thumb.style.backgroundSize = `${cols * 100}% ${rows * 100}%`;
        thumb.classList.add("playing");
        timer = setInterval(() => {
          const c = k % cols, r = Math.floor(k / cols) % rows;
          thumb.style.backgroundPosition = `${cols > 1 ? (c * 100) / (cols - 1) : 0}% ${rows > 1 ? (r * 100) / (rows - 1) : 0}%`;
          k = (k + 1) % (cols * rows);
        }, 120);
      };
      if (sheet && sheet.complete) return play();
      sheet = new Image();
      sheet.onload = play;
      sheet.src = thumb.dataset.sprite;
    };
    const stop = () => {
      clearInterval(timer);
      thumb.classList.remove("playing");
    };
    thumb.addEventListener("mouseenter", start);
    thumb.addEventListener("mouseleave", stop);
  }

  // A form that undoes something (revoking a key) asks first: its data-confirm is the question.
  document.addEventListener("submit", async (e) => {
    const form = e.target;
    if (form.dataset.renewed) return;  // sent again below, with a fresh token: asked already
    const question = form.dataset && form.dataset.confirm;
    if (question && !window.confirm(question)) e.preventDefault();
    if (e.defaultPrevented) return;
    // Signing out forgets the Create form this tab kept (create.js): the next person at this browser
    // does not find it.
    const signOut = form.getAttribute("action") === "/signout";
    if (signOut) {
      try {
        const kept = Object.keys(sessionStorage).filter((k) => k.startsWith("zoetrope.create."));
        kept.forEach((k) => sessionStorage.removeItem(k));
      } catch { /* storage turned off: nothing was kept */ }
    }
    // A form with a CSRF token goes with the token of the session the browser holds now: at once
    // when that is still the page's own, else once renewToken put the new one in. Signed out (the
    // server then asks to sign in) or unreachable, it goes as it is; signed in as another account,
    // it stays here, unless it signs the browser out.
    if (!form.querySelector('input[name="csrf"]') || !resigned()) return;
    e.preventDefault();
    try {
      await renewToken(signOut);
    } catch (err) {
      if (err.switched) return;
    }
    form.dataset.renewed = "1";
    form.requestSubmit(e.submitter);  // its submit event comes at once, before the next line
    delete form.dataset.renewed;
  });
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".thumb[data-sprite]").forEach(spriteHover);
    // Plays while the pointer is over it, while it has the keyboard's focus, or (touch) once tapped.
    document.querySelectorAll("video[data-hoverplay]").forEach((v) => {
      const play = () => v.play().catch(() => {});
      v.addEventListener("mouseenter", play);
      v.addEventListener("mouseleave", () => v.pause());
      v.addEventListener("focus", play);
      v.addEventListener("blur", () => v.pause());
      v.addEventListener("click", () => (v.paused ? play() : v.pause()));
      v.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); v.paused ? play() : v.pause(); }
      });
    });
    document.querySelectorAll(".bar[data-watch]").forEach((bar) => {
      // Not while the page is deleting the job itself: it goes to the library, not to a "Not found".
      const reload = () => bar.dataset.leaving || location.reload();
      // A library tile whose job finishes becomes its thumbnail (with the spritesheet on hover).
      const finish = (v) => {
        const thumb = bar.closest(".thumb");
        const img = document.createElement("img");
        img.src = `/v1/videos/${v.id}/content?variant=thumbnail`;
        img.alt = v.prompt || "";
        thumb.dataset.sprite = `/v1/videos/${v.id}/content?variant=spritesheet`;
        const [w, h] = v.size.split("x");
        thumb.dataset.aspect = String(w / h);
        bar.replaceWith(img);
        const tile = thumb.closest(".tile");
        if (tile) tile.dataset.status = "completed";
        note(img, "Done");
        spriteHover(thumb);
      };
      watch(bar.dataset.watch, bar, bar.dataset.reload ? reload : finish, reload);
    });
  });

  return { api, quote, price, count, refreshCredits, showError, watch, jobTile, tasks, media, checkUpload };
})();
