// The Verify page: send a dropped file to the provenance check and show both results.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("verify-file");
  const error = document.getElementById("verify-error");
  const result = document.getElementById("verify-result");

  const rows = (dl, pairs) => {
    dl.replaceChildren();
    for (const [k, v, cls] of pairs) {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v === null || v === undefined || v === "" ? "—" : String(v);
      if (cls) dd.className = cls;
      dl.append(dt, dd);
    }
  };

  async function check(file) {
    Studio.showError(error, null);
    result.hidden = true;
    zone.querySelector("span").textContent = `Checking ${file.name}…`;
    const data = new FormData();
    data.append("file", file);
    try {
      const r = await Studio.api("POST", Studio.tasks.verify(), data);
      const c = r.results[0];
      const w = r.watermark || {};
      const found = c.outcome === "detected";
      rows(document.getElementById("c2pa"), [
        ["Verdict", found ? "Signed by Zoetrope" : "No valid Zoetrope manifest", `verdict ${found ? "yes" : "no"}`],
        ["Validation", c.validation_state], ["Issuer", c.issuer], ["Model", c.model], ["Signed at", c.generated_at],
      ]);
      const marked = Boolean(w.detected ?? w.found);
      const extra = Object.entries(w).filter(([k]) => !["detected", "found"].includes(k));
      rows(document.getElementById("watermark"), [
        ["Verdict", marked ? "Watermark found" : "No watermark found", `verdict ${marked ? "yes" : "no"}`],
        ...extra.map(([k, v]) => [k.replaceAll("_", " "), typeof v === "object" ? JSON.stringify(v) : v]),
      ]);
      result.hidden = false;
    } catch (e) {
      Studio.showError(error, e);
    } finally {
      zone.querySelector("span").textContent = file.name;
    }
  }

  input.addEventListener("change", () => input.files[0] && check(input.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files[0]) check(e.dataTransfer.files[0]);
  });
});
