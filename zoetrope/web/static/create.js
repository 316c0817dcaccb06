// The Create page: live price, then one job per variation, each with its own progress bar.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("create");
  const error = document.getElementById("create-error");
  const jobs = document.getElementById("jobs");
  const ASPECT = { landscape: [16, 9], vertical: [9, 16], square: [1, 1] };

  const size = () => {
    const [w, h] = ASPECT[form.aspect.value];
    const s = Number(form.resolution.value) / Math.min(w, h);
    return `${Math.round((w * s) / 2) * 2}x${Math.round((h * s) / 2) * 2}`;
  };
  const isImage = () => form.kind.value === "image";

  async function quote() {
    form.seconds.disabled = isImage();
    const q = new URLSearchParams({ model: form.model.value, seconds: form.seconds.value, size: size(),
      n: form.n.value, image: isImage() });
    const res = await fetch(`/studio/quote?${q}`);
    if (res.ok) document.getElementById("cost").textContent = (await res.json()).credits;
  }
  form.addEventListener("change", quote);
  quote();

  function body(i) {
    const seed = form.seed.value === "" ? null : Number(form.seed.value) + i;
    const fields = { prompt: form.prompt.value, model: form.model.value, size: size() };
    if (!isImage()) fields.seconds = form.seconds.value;
    if (seed !== null) fields.seed = seed;
    const file = form.image.files[0];
    if (!file || isImage()) return fields;
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
      const res = await Studio.api("POST", Studio.tasks.image(), { ...body(i), n: 1 });
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
