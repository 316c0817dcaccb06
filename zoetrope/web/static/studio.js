// The studio's shared client: calls to the /v1 API with the session's CSRF token, errors shown
// in place with the API's own message (an ended session: a link to sign in again), live progress
// bars, and spritesheet previews on hover.
"use strict";

const Studio = (() => {
  const csrf = () => document.querySelector('meta[name="csrf"]').content;

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

  async function api(method, path, body, headers = {}) {
    const init = { method, headers: { "X-CSRF-Token": csrf(), ...headers }, credentials: "same-origin" };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) throw sessionEnded();  // signed out elsewhere, or the cookie expired
    if (!res.ok) {
      const msg = (data.error && data.error.message) || `${res.status} ${res.statusText}`;
      throw new Error(msg);
    }
    if (method !== "GET" && !headers["Zoetrope-Quote"]) refreshCredits();  // a submit reserves credits
    return data;
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
    if (!document.getElementById("session-ended")) {
      const p = document.createElement("p");
      p.id = "session-ended";
      p.className = "error";
      p.setAttribute("role", "alert");
      p.style.marginBottom = "1rem";
      p.append(...sessionEndedText());
      (document.querySelector("main") || document.body).prepend(p);
    }
    const err = new Error(SESSION_ENDED);
    err.signIn = true;
    return err;
  }

  // What a create would cost, nothing queued (the API's `Zoetrope-Quote: true`); refusals throw.
  const quote = (path, body) => api("POST", path, body, { "Zoetrope-Quote": "true" });
  // What a quote says `n` such requests take: credits on a plan that pays in credits, points on a
  // free plan's fast lane once its free generations are used, else nothing.
  const price = (q, n = 1) => (q.points ? `${q.points * n} points` : q.credits ? `${q.credits * n} credits` : "free");

  // The header's credit count, read again from /v1/usage (after a submit, and when a job ends and
  // its reservation is captured or released).
  async function refreshCredits() {
    const el = document.querySelector("[data-credits]");
    if (!el) return;
    const usage = await api("GET", "/v1/usage").catch(() => null);
    if (usage && typeof usage.credits === "number") el.textContent = String(usage.credits);
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
    const tile = bar.closest(".tile");
    if (tile) tile.dataset.progress = String(pct);
    const label = bar.parentElement.querySelector(".pct");
    if (label) label.textContent = `${pct} %`;
  }

  // Poll a job until it is done; `onDone(video)` is called with the finished video object.
  async function watch(id, bar, onDone, onFail) {
    for (;;) {
      let v;
      try {
        v = await api("GET", `/v1/videos/${id}`);
      } catch (e) {
        onFail(e);
        return;
      }
      setProgress(bar, v.status === "completed" ? 100 : v.progress);
      if (v.status === "completed") return onDone(v);
      if (v.status === "failed") return onFail(new Error((v.error && v.error.message) || "generation failed"));
      await new Promise((r) => setTimeout(r, 400));
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
    return el;
  }

  // A tile for a job that runs now: a progress bar, then the player.
  function jobTile(v, container) {
    const tile = document.createElement("div");
    tile.className = "tile job";
    tile.dataset.id = v.id;
    const [w, h] = v.size.split("x");
    tile.innerHTML = `<div class="thumb" style="aspect-ratio:${w}/${h}"><div class="bar"><i></i></div>
      <span class="pct">0 %</span></div><p class="caption"></p>`;
    tile.querySelector(".caption").textContent = v.prompt || "";
    const link = document.createElement("a");
    link.href = `/videos/${v.id}`;
    link.textContent = "Open";
    link.className = "small";
    container.prepend(tile);
    const thumb = tile.querySelector(".thumb");
    const bar = tile.querySelector(".bar");
    setProgress(bar, v.progress || 0);
    watch(v.id, bar, (done) => {
      refreshCredits();
      tile.dataset.status = "completed";
      thumb.replaceChildren(media(done));
      tile.querySelector(".caption").append(" ", link);
    }, (err) => {
      refreshCredits();
      tile.dataset.status = "failed";
      const p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = err.message;
      thumb.replaceChildren(p);
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
  document.addEventListener("submit", (e) => {
    const question = e.target.dataset && e.target.dataset.confirm;
    if (question && !window.confirm(question)) e.preventDefault();
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
      const reload = () => location.reload();
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
        spriteHover(thumb);
      };
      watch(bar.dataset.watch, bar, bar.dataset.reload ? reload : finish, reload);
    });
  });

  return { api, quote, price, showError, watch, jobTile, tasks, media };
})();
