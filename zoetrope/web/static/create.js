// The Create page: live price, then one job per variation, each with its own progress bar.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("create");
  const error = document.getElementById("create-error");
  const jobs = document.getElementById("jobs");
  const ASPECT = { landscape: [16, 9], vertical: [9, 16], square: [1, 1] };
  // Jobs still running when the page was loaded (a reload, or Back, mid-render) get their bars back.
  JSON.parse(jobs.dataset.running || "[]").reverse().forEach((v) => Studio.jobTile(v, jobs));

  const size = () => {
    const [w, h] = ASPECT[form.aspect.value];
    const s = Number(form.resolution.value) / Math.min(w, h);
    return `${Math.round((w * s) / 2) * 2}x${Math.round((h * s) / 2) * 2}`;
  };
  const isImage = () => form.kind.value === "image";

  // The API names a field as it is sent (`input_reference`, `seed`), the page by its label: a refusal
  // is shown in the page's words, and the field it names is marked (until the form changes).
  const LABELS = {
    prompt: ["prompt", "Prompt"], seconds: ["seconds", "Duration"], seed: ["seed", "Seed"],
    model: ["model", "Model"], lane: ["lane", "Lane"], input_reference: ["image", "Start from an image"],
    n: ["n", "Variations"],
  };
  function inFormWords(e) {
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const field = Object.hasOwn(LABELS, e.param || "") ? LABELS[e.param] : null;
    if (!field) return e;
    const el = form.elements[field[0]];
    if (el && el.setAttribute) el.setAttribute("aria-invalid", "true");
    const shown = new Error(e.message.replace(new RegExp(`^${e.param}\\b`), field[1]));
    return Object.assign(shown, { status: e.status, param: e.param, signIn: e.signIn });
  }

  // The price of what Generate sends (one request per variation), from the API's own quote of
  // that request: the price shown is the price charged, or the API's refusal before the click.
  const cost = document.getElementById("cost");
  let asked = 0;
  let markedAt = 0;  // `asked` when a refused submit last marked a field: older price answers leave it
  async function reprice() {
    form.seconds.disabled = isImage();
    form.image.disabled = isImage();  // an image is drawn from the prompt alone: the file is not sent
    const mine = ++asked;  // an answer to an older form state must not overwrite a newer one
    const n = Number(form.n.value);
    let text;
    try {
      // The prompt does not change the price (a quote is not moderated): before one is typed, the
      // placeholder's stands in, so the price shows from the start.
      const q = await quote(form.prompt.value.trim() ? form.prompt.value : form.prompt.placeholder);
      const what = isImage() ? `${n} image${n > 1 ? "s" : ""}` : `${n > 1 ? `${n} × ` : ""}${q.seconds} s`;
      text = `${Studio.price(q, n)} (${what} at ${q.size})`;
      // The quote prices the request, not the balance: say so here when the credits left do not cover it.
      const left = Number((document.querySelector("[data-credits]") || {}).textContent);
      if (!q.points && q.credits * n > left) text += `: more than the ${Studio.count(left, "credit")} left`;
      if (mine === asked && mine > markedAt) inFormWords({});
    } catch (e) {
      text = mine === asked && mine > markedAt ? inFormWords(e).message : e.message;
    }
    if (mine === asked) cost.textContent = text;
  }
  // The API's quote reads an image to animate for whether it is a still it takes and for its size
  // (zoetrope/jobs/footage.py find_source), never for its pixels. So a chosen image's bytes go with
  // the first quote after it is chosen, and later quotes (another duration, size, prompt) send a
  // blank picture of the same size in its place: the same price, without the upload each time. An
  // image the API refuses is refused again from memory.
  let chosen = null;  // {file, verdict: a promise of {blank} or {refusal}, or null: not yet quoted}
  async function quote(prompt) {
    const path = isImage() ? Studio.tasks.image() : Studio.tasks.create();
    const file = isImage() ? null : form.image.files[0];
    if (!file) return Studio.quote(path, body(0, prompt));
    if (!chosen || chosen.file !== file) chosen = { file, verdict: null };
    const mine = chosen;
    if (mine.verdict) {  // this file was quoted, or is on its way: that answer first
      const seen = await mine.verdict;
      if (seen && seen.refusal) throw seen.refusal;
      if (seen) return Studio.quote(path, body(0, prompt, seen.blank));
    }
    let settle;
    mine.verdict = new Promise((resolve) => { settle = resolve; });
    try {
      const q = await Studio.quote(path, body(0, prompt));
      const blank = await blankLike(file);
      settle(blank ? { blank } : null);  // null: a browser that cannot draw it sends the file again
      return q;
    } catch (e) {
      settle(e.param === "input_reference" ? { refusal: e } : null);
      throw e;
    }
  }

  // A blank PNG as wide and high as `image` (a few kilobytes), or null where it cannot be read here.
  async function blankLike(image) {
    try {
      const bitmap = await createImageBitmap(image);
      const canvas = document.createElement("canvas");
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      bitmap.close();
      const png = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
      return png && new File([png], "blank.png", { type: "image/png" });
    } catch {
      return null;
    }
  }

  // The form as typed, kept in this tab (per account) at each edit: Back to Create, or a reload,
  // finds the prompt and the choices as they were. The image to animate is not kept (a page cannot
  // put a file back into a file field); a choice the page no longer offers is left at its own.
  const DRAFT = form.dataset.draft;
  const KEPT = ["prompt", "kind", "seconds", "aspect", "resolution", "model", "seed", "n", "lane"];
  function save() {
    const draft = {};
    KEPT.forEach((name) => { if (form.elements[name]) draft[name] = form.elements[name].value; });
    try {
      sessionStorage.setItem(DRAFT, JSON.stringify(draft));
    } catch { /* storage full or turned off: the form works, it is only not kept */ }
  }
  function restore() {
    let draft = null;
    try {
      draft = JSON.parse(sessionStorage.getItem(DRAFT));
    } catch { /* storage turned off, or not a draft: the page's own form */ }
    if (!draft || typeof draft !== "object") return;
    KEPT.forEach((name) => {
      const el = form.elements[name];
      const value = draft[name];
      if (!el || typeof value !== "string") return;
      const offered = el instanceof RadioNodeList || el.tagName === "SELECT" ? [...(el.options || el)] : null;
      if (offered && !offered.some((o) => o.value === value)) return;
      el.value = value;
    });
  }
  if (DRAFT) {
    restore();
    form.addEventListener("input", save);
    form.addEventListener("change", save);
  }

  form.addEventListener("change", reprice);
  reprice();
  // Editing the form answers a refused submit: its error goes, and so does the edited field's mark.
  form.addEventListener("input", (ev) => {
    Studio.showError(error, null);
    if (ev.target.removeAttribute) ev.target.removeAttribute("aria-invalid");
  });

  // Variation i's request body (an image's asks for one image: each variation is a request), with
  // `image` as the image to animate (the one chosen, unless a quote sends a stand-in).
  function body(i, prompt = form.prompt.value, image = form.image.files[0]) {
    // What the browser cannot read as a number (1e400, say) it reads as "", which would be a random
    // seed nobody asked for: refused here instead.
    if (form.seed.validity.badInput) {
      const e = new Error("Seed must be a whole number from 0 up, like 42, or empty for a random one");
      throw Object.assign(e, { param: "seed" });
    }
    // Seeds run to 2^63 - 1, past the whole numbers a JavaScript number holds exactly (2^53): a typed
    // seed is counted on as a BigInt and sent as text, so the seed sent is the seed typed.
    const typed = form.seed.value;
    const seed = typed === "" ? null : /^[0-9]+$/.test(typed) ? String(BigInt(typed) + BigInt(i)) : Number(typed) + i;
    const fields = { prompt, model: form.model.value, size: size() };
    if (form.lane) fields.lane = form.lane.value;  // only where the plan has more than one lane
    if (!isImage()) fields.seconds = form.seconds.value;
    else fields.n = 1;
    if (seed !== null) fields.seed = seed;
    if (!image || isImage()) return fields;
    Studio.checkUpload(image, "Start from an image");
    const data = new FormData();
    Object.entries(fields).forEach(([k, v]) => data.append(k, String(v)));
    data.append("input_reference", image);
    return data;
  }

  async function createImage(i) {
    const placeholder = { id: `img-${Date.now()}-${i}`, size: size(), prompt: form.prompt.value, progress: 0 };
    const tile = document.createElement("div");
    tile.className = "tile job";
    const [w, h] = placeholder.size.split("x");
    tile.innerHTML = `<div class="thumb" style="aspect-ratio:${w}/${h}"><span class="pct">Drawing…</span></div><p class="caption"></p>`;
    tile.querySelector(".caption").textContent = placeholder.prompt;
    jobs.prepend(tile);
    try {
      const res = await Studio.api("POST", Studio.tasks.image(), body(i));
      const img = document.createElement("img");
      img.src = `data:image/png;base64,${res.data[0].b64_json}`;
      img.alt = placeholder.prompt;
      tile.querySelector(".thumb").replaceChildren(img);
    } catch (e) {
      tile.remove();
      throw e;
    }
  }

  // Each variation is a job of its own, and the plan runs only so many at once: before any starts,
  // the account's free room is asked, and more variations than fit start none (rather than some,
  // then a refusal), saying how many can start now.
  async function checkRoom(n) {
    if (n < 2) return;  // one: the API's own refusal says it, and nothing starts
    const room = await Studio.api("GET", "/studio/concurrency");
    if (room.free >= n) return;
    const now = `your plan runs ${Studio.count(room.limit, "job")} at once and ${room.running} ${room.running === 1 ? "is" : "are"} running`;
    const fix = room.free > 0
      ? `so ${room.free} can start now: choose ${room.free}, or wait for one to finish`
      : "so none can start now: wait for one to finish";
    throw Object.assign(new Error(`Variations: ${now}, ${fix}`), { param: "n" });
  }

  // Some started, then one was refused (another tab or client started a job meanwhile): say how many.
  const partly = (started, n, e) => Object.assign(
    new Error(`${started} of ${n} variations started; the other ${n - started} did not: ${e.message}`),
    { status: e.status, signIn: e.signIn },
  );

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    Studio.showError(error, null);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const n = Number(form.n.value);
    let started = 0;
    try {
      await checkRoom(n);
      document.getElementById("jobs-empty").hidden = true;
      if (isImage()) {  // images are drawn side by side; the button waits for all of them
        const drawn = await Promise.allSettled([...Array(n).keys()].map((i) => createImage(i)));
        const refused = drawn.find((d) => d.status === "rejected");
        started = drawn.length - drawn.filter((d) => d.status === "rejected").length;
        if (refused) throw refused.reason;
      } else {
        for (let i = 0; i < n; i++) {
          const v = await Studio.api("POST", Studio.tasks.create(), body(i));
          Studio.jobTile(v, jobs);
          started += 1;
        }
      }
    } catch (e) {
      markedAt = asked;
      Studio.showError(error, started > 0 ? partly(started, n, e) : inFormWords(e));
    } finally {
      button.disabled = false;
    }
  });
});
