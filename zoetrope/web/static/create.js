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

  // The price of what Generate sends (one request per variation), from the API's own quote of
  // that request: the price shown is the price charged, or the API's refusal before the click.
  const cost = document.getElementById("cost");
  let asked = 0;
  async function reprice() {
    form.seconds.disabled = isImage();
    const mine = ++asked;  // an answer to an older form state must not overwrite a newer one
    const n = Number(form.n.value);
    let text;
    try {
      // The prompt does not change the price (a quote is not moderated): before one is typed, the
      // placeholder's stands in, so the price shows from the start.
      const q = await Studio.quote(isImage() ? Studio.tasks.image() : Studio.tasks.create(),
        body(0, form.prompt.value.trim() ? form.prompt.value : form.prompt.placeholder));
      const what = isImage() ? `${n} image${n > 1 ? "s" : ""}` : `${n > 1 ? `${n} × ` : ""}${q.seconds} s`;
      text = `${Studio.price(q, n)} (${what} at ${q.size})`;
      // The quote prices the request, not the balance: say so here when the credits left do not cover it.
      const left = Number((document.querySelector("[data-credits]") || {}).textContent);
      if (!q.points && q.credits * n > left) text += `: more than the ${left} credits left`;
    } catch (e) {
      text = e.message;
    }
    if (mine === asked) cost.textContent = text;
  }
  form.addEventListener("change", reprice);
  reprice();

  // Variation i's request body (an image's asks for one image: each variation is a request).
  function body(i, prompt = form.prompt.value) {
    const seed = form.seed.value === "" ? null : Number(form.seed.value) + i;
    const fields = { prompt, model: form.model.value, size: size() };
    if (form.lane) fields.lane = form.lane.value;  // only where the plan has more than one lane
    if (!isImage()) fields.seconds = form.seconds.value;
    else fields.n = 1;
    if (seed !== null) fields.seed = seed;
    const file = form.image.files[0];
    if (!file || isImage()) return fields;
    Studio.checkUpload(file, "Start from an image");
    const data = new FormData();
    Object.entries(fields).forEach(([k, v]) => data.append(k, String(v)));
    data.append("input_reference", file);
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

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    Studio.showError(error, null);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    document.getElementById("jobs-empty").hidden = true;
    try {
      const drawing = [];  // images are drawn side by side; the button waits for all of them
      for (let i = 0; i < Number(form.n.value); i++) {
        if (isImage()) {
          drawing.push(createImage(i).catch((e) => Studio.showError(error, e)));
          continue;
        }
        const v = await Studio.api("POST", Studio.tasks.create(), body(i));
        Studio.jobTile(v, jobs);
      }
      await Promise.all(drawing);
    } catch (e) {
      Studio.showError(error, e);
    } finally {
      button.disabled = false;
    }
  });
});
