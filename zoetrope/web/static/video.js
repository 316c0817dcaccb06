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
      return [T.blend(), { video_a: id, video_b: f.target.value, prompt: f.prompt.value }];
    },
    recut: (f) => [T.recut(id), { start: Number(f.start.value), end: Number(f.end.value),
      extend: Number(f.extend_seconds.value), prompt: f.prompt.value }],
  };

  document.querySelectorAll("[data-action]").forEach((box) => {
    const form = box.querySelector("form");
    const error = form.querySelector(".error");
    // The price as the form stands, from the API itself (what the click will be charged).
    const price = form.querySelector("[data-price]");
    const reprice = async () => {
      try {
        const [path, body] = requests[box.dataset.action](form);
        const q = await Studio.quote(path, body);
        price.textContent = `${Studio.price(q)} (${q.seconds} s at ${q.size})`;
      } catch (e) {
        price.textContent = e.message;
      }
    };
    if (price) {
      form.addEventListener("change", reprice);
      box.addEventListener("toggle", () => box.open && reprice());
      if (box.open) reprice();
    }
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
        Studio.showError(error, e);
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
