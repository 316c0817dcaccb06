// The video page: remix, extend, loop, blend and re-cut start a new job shown under the action;
// delete goes back to the library. Errors appear under the button that caused them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const page = document.querySelector("[data-video]");
  const id = page.dataset.video;
  const T = Studio.tasks;

  const requests = {
    remix: (f) => [T.remix(id), { prompt: f.prompt.value, strength: Number(f.strength.value),
      ...(f.new_motion.checked ? { strength_end: 1 } : {}) }],
    extend: (f) => [T.extend(), { video: { id }, prompt: f.prompt.value, seconds: f.seconds.value,
      direction: f.direction.value }],
    loop: (f) => [T.loop(id), { prompt: f.prompt.value }],
    blend: (f) => {
      // No other finished video to blend into: say so, not the API's words about a missing video_b.
      if (!f.target.value) throw new Error("Blend needs a second finished video: make one first");
      // The transition prompt is optional: left empty, it is this video's own (the field's first value).
      const prompt = f.prompt.value.trim() ? f.prompt.value : f.prompt.defaultValue;
      return [T.blend(), { video_a: id, video_b: f.target.value, prompt }];
    },
    recut: (f) => [T.recut(id), { start: Number(f.start.value), end: Number(f.end.value),
      extend: Number(f.extend_seconds.value), prompt: f.prompt.value }],
  };

  // The API names a field as it is sent (`video_b`, `end`), the page by its label: a refusal is shown
  // in the page's words, and the field it names is marked (until the form is edited, priced or sent again).
  const FIELDS = { prompt: "prompt", strength: "strength", seconds: "seconds", direction: "direction",
    video_b: "target", start: "start", end: "end", extend: "extend_seconds" };
  const LABELS = { video_b: "Into", start: "Trim start", end: "Trim end", extend: "Extend by",
    seconds: "Seconds added", strength: "Strength" };
  function inFormWords(form, e) {
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const el = e && Object.hasOwn(FIELDS, e.param || "") ? form.elements[FIELDS[e.param]] : null;
    if (!el || el.type === "hidden") return e;
    el.setAttribute("aria-invalid", "true");
    const label = LABELS[e.param] || el.getAttribute("aria-label") || e.param;
    const shown = new Error(e.message.replace(new RegExp(`^${e.param}\\b`), label));
    return Object.assign(shown, { status: e.status, param: e.param, signIn: e.signIn });
  }

  document.querySelectorAll("[data-action]").forEach((box) => {
    const form = box.querySelector("form");
    const error = form.querySelector(".error");
    // The price as the form stands, from the API itself (what the click will be charged).
    const price = form.querySelector("[data-price]");
    let asked = 0;
    const reprice = async () => {
      const mine = ++asked;  // an answer to an older form state must not overwrite a newer one
      let text;
      try {
        const [path, body] = requests[box.dataset.action](form);
        const q = await Studio.quote(path, body);
        text = `${Studio.price(q)} (${q.seconds} s at ${q.size})`;
        if (mine === asked) inFormWords(form, null);
      } catch (e) {
        text = mine === asked ? inFormWords(form, e).message : e.message;
      }
      if (mine === asked) price.textContent = text;
    };
    if (price) {
      form.addEventListener("change", reprice);
      box.addEventListener("toggle", () => box.open && reprice());
      if (box.open) reprice();
    }
    // Editing the form answers its error: the error and the field's mark go at once, and a price that
    // was a refusal is asked again shortly after the typing stops (not only once the field is left).
    let again = null;
    form.addEventListener("input", () => {
      const marked = form.querySelector("[aria-invalid]");
      Studio.showError(error, null);
      form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
      if (!price || !marked) return;
      price.textContent = "…";
      clearTimeout(again);
      again = setTimeout(reprice, 400);
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      Studio.showError(error, null);
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const [path, body] = requests[box.dataset.action](form);
        const v = await Studio.api("POST", path, body);
        Studio.jobTile(v, form.querySelector(".out"));
      } catch (e) {
        Studio.showError(error, inFormWords(form, e));
      } finally {
        button.disabled = false;
      }
    });
  });

  // Jobs made from this video still running when the page was loaded (a reload, or Back,
  // mid-render) get their bars back, each under the action that starts its task.
  const actions = document.querySelector(".actions[data-running]");
  JSON.parse((actions && actions.dataset.running) || "[]").reverse().forEach((v) => {
    const box = actions.querySelector(`[data-action="${v.task.replace("_backward", "")}"]`)
      || actions.querySelector("[data-action]");
    box.open = true;
    Studio.jobTile(v, box.querySelector(".out"));
  });

  // Re-cut: two handles on one track; the start never passes the end.
  const trim = document.querySelector(".trim");
  if (trim) {
    const [a, b] = trim.querySelectorAll("input");
    const span = trim.closest("form").querySelector("output[name=span]");
    const player = document.getElementById("player");
    const update = (moved) => {
      if (Number(a.value) > Number(b.value)) (moved === a ? b : a).value = moved.value;
      span.value = `${Number(a.value).toFixed(1)} – ${Number(b.value).toFixed(1)} s`;
      if (player) player.currentTime = Number(moved.value);
    };
    a.addEventListener("input", () => update(a));
    b.addEventListener("input", () => update(b));
  }

  const del = document.getElementById("delete");
  del.addEventListener("click", async () => {
    if (!confirm("Delete this video? This cannot be undone.")) return;
    const bar = document.querySelector(".bar[data-watch]");  // a running job's: its poll will see it gone
    if (bar) bar.dataset.leaving = "1";
    try {
      await Studio.api("DELETE", `/v1/videos/${id}`);
      location.href = "/library";
    } catch (e) {
      if (bar) delete bar.dataset.leaving;
      Studio.showError(document.getElementById("delete-error"), e);
    }
  });
});
