// The Verify page: send a dropped file to the provenance check and show what `zoetrope verify`
// shows: the verdict and every problem first (a tampered file, a forged or mismatched signature,
// a source that had been altered), then the manifest, the watermark and the record.
"use strict";

// The API's report as the page's rows, [label, value, class]: pure, so it reads the same anywhere.
const VerifyView = (() => {
  const SOURCE = { parentOf: "parent", componentOf: "part of it", inputTo: "input" };

  function view(r) {
    const c = r.c2pa || {};
    const w = r.watermark || {};
    const problems = r.problems || [];
    const signed = r.results[0].outcome === "detected";
    const verdict = problems.length
      ? ["Does not check out", "no"]
      : signed ? ["Signed by Zoetrope", "yes"] : ["No valid Zoetrope manifest", "no"];
    const manifest = [
      ["Verdict", verdict[0], `verdict ${verdict[1]}`],
      ["Validation", c.state], ["Issuer", c.issuer && `${c.issuer} (${c.common_name || "—"})`],
      ["Actions", (c.actions || []).join(", ")], ["Model", c.model], ["Generation", c.generation_id],
      ["Signed at", c.signed_at],
    ];
    if (c.impersonates) {
      manifest.push(["Signer", "claims to be Zoetrope's, but this installation did not sign it", "verdict no"]);
    }
    for (const i of c.ingredients || []) {
      const altered = i.state === "invalid" || i.impersonates;
      const label = i.depth > 1 ? "Made from (earlier)" : `Made from (${SOURCE[i.relationship] || i.relationship})`;
      const state = i.impersonates ? "forged: claims to be Zoetrope's" : i.state;
      manifest.push([label, `${i.title || "untitled"}: ${state}`, altered ? "verdict no" : null]);
    }
    for (const f of c.failures || []) manifest.push(["Failure", f, "verdict no"]);
    const mark = [
      ["Verdict", w.found ? "Watermark found" : "No watermark found", `verdict ${w.found ? "yes" : "no"}`],
      ["Payload", w.payload], ["Confidence", w.confidence],
    ];
    if (w.matches_manifest === false) {
      mark.push(["Manifest", "the watermark names another generation than the manifest", "verdict no"]);
    } else if (w.matches_manifest === true) {
      mark.push(["Manifest", "names the same generation"]);
    }
    const rec = r.record;
    const record = rec
      ? [["Video", rec.id], ["Status", rec.status], ["Prompt", rec.prompt], ["Made from", rec.remixed_from_video_id],
         ["Found by", r.record_found_by === "watermark" ? "the watermark alone (no signature confirms it)"
                                                        : "its signed manifest"]]
      : [["Video", "none of yours"]];
    return { problems, notes: r.notes || [], manifest, mark, record };
  }

  return { view };
})();

if (typeof document !== "undefined" && document.getElementById) {
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
    const items = (ul, texts) => {
      ul.replaceChildren(...texts.map((t) => Object.assign(document.createElement("li"), { textContent: t })));
      ul.hidden = texts.length === 0;
    };

    async function check(file) {
      Studio.showError(error, null);
      result.hidden = true;
      try {
        Studio.checkUpload(file, "File");
      } catch (e) {
        return Studio.showError(error, e);
      }
      zone.querySelector("span").textContent = `Checking ${file.name}…`;
      const data = new FormData();
      data.append("file", file);
      try {
        const v = VerifyView.view(await Studio.api("POST", Studio.tasks.verify(), data));
        items(document.getElementById("verify-problems"), v.problems);
        items(document.getElementById("verify-notes"), v.notes);
        rows(document.getElementById("c2pa"), v.manifest);
        rows(document.getElementById("watermark"), v.mark);
        rows(document.getElementById("record"), v.record);
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
}
