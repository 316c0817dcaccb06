// The Storyboard page: a timeline of prompt cards (add, drag or move, remove) rendered as one video.
// The board is kept as a draft in this browser, per account, until it is rendered or cleared.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("cards");
  const tpl = document.getElementById("card-template");
  const error = document.getElementById("sb-error");
  const out = document.getElementById("sb-out");
  // Storyboards still rendering when the page was loaded (a reload, or Back, mid-render) get their bars back.
  JSON.parse(out.dataset.running || "[]").reverse().forEach((v) => Studio.jobTile(v, out));
  const ASPECT = { landscape: [16, 9], vertical: [9, 16], square: [1, 1] };
  // WIDTHxHEIGHT for the chosen aspect at the chosen resolution (short side), even sides: as Create.
  const size = () => {
    const [w, h] = ASPECT[document.getElementById("sb-aspect").value];
    const s = Number(document.getElementById("sb-resolution").value) / Math.min(w, h);
    return `${Math.round((w * s) / 2) * 2}x${Math.round((h * s) / 2) * 2}`;
  };

  const SPACING = 4;  // seconds between a new card and the latest one
  // The start fields that hold a number (an emptied one is the card's error to fix, not a 0).
  const starts = () => [...list.querySelectorAll("[name=start]")];
  const timed = () => starts().filter((i) => i.value !== "");
  // Where a new card goes: 4 s after the latest start on the board (0 on an empty board).
  const next = () => {
    const times = timed().map((i) => Number(i.value));
    return times.length ? Math.max(...times) + SPACING : 0;
  };

  // The draft: the cards and the choices above them, saved in this browser under the account at
  // each edit, so a reload, or leaving the page and coming back, finds the board as it was. A
  // storyboard the API accepts, and Clear, forget it.
  const DRAFT = list.dataset.draft;
  const CHOICES = ["sb-aspect", "sb-resolution", "sb-model", "sb-seconds"];
  function save() {
    const draft = {
      cards: [...list.children].map((li) => ({
        prompt: li.querySelector("[name=prompt]").value,
        start: li.querySelector("[name=start]").value,
      })),
    };
    CHOICES.forEach((id) => { draft[id] = document.getElementById(id).value; });
    try {
      localStorage.setItem(DRAFT, JSON.stringify(draft));
    } catch { /* storage full or turned off: the board works, it is only not kept */ }
  }
  function forget() {
    try {
      localStorage.removeItem(DRAFT);
    } catch { /* storage turned off: nothing was kept */ }
  }
  // The saved board, if there is one; a value the page no longer offers (a plan changed since) is
  // left at the page's own.
  function restore() {
    let draft = null;
    try {
      draft = JSON.parse(localStorage.getItem(DRAFT));
    } catch { /* storage turned off, or not a draft: the page's own board */ }
    if (!draft || !Array.isArray(draft.cards) || !draft.cards.length) return false;
    CHOICES.forEach((id) => {
      const el = document.getElementById(id);
      const value = draft[id];
      if (typeof value !== "string") return;
      if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === value)) return;
      el.value = value;
    });
    const text = (v) => (typeof v === "string" ? v : "");
    draft.cards.forEach((c) => add(text(c && c.prompt), text(c && c.start)));
    return true;
  }

  function add(prompt = "", start = null) {
    const card = tpl.content.firstElementChild.cloneNode(true);
    card.querySelector("[name=start]").value = start ?? next();
    card.querySelector("[name=prompt]").value = prompt;
    list.append(card);
  }

  // Reordering moves the shots, not the clock: the start times stay in their slots, in time
  // order, and each card takes the slot of its new position (a card with no start keeps none).
  // `slots` are the times to share out: the board's own, or, after a remove, the board's before
  // it less its latest, so the cards left keep the earliest slots and the first still starts at 0.
  function retime(slots = timed().map((i) => Number(i.value))) {
    const sorted = [...slots].sort((a, b) => a - b);
    timed().forEach((input, i) => { input.value = sorted[i]; });
  }

  function remove(card) {
    const slots = timed().map((i) => Number(i.value)).sort((a, b) => a - b);
    if (card.querySelector("[name=start]").value !== "") slots.pop();
    card.remove();
    retime(slots);
  }

  list.addEventListener("click", (e) => {
    const card = e.target.closest("li");
    if (!card) return;
    if (e.target.dataset.remove !== undefined) {
      // The keyboard's place stays on the board: the next card's Remove, else the one before's, else Add.
      const near = card.nextElementSibling || card.previousElementSibling;
      remove(card);
      (near ? near.querySelector("[data-remove]") : document.getElementById("sb-add")).focus();
    }
    const move = Number(e.target.dataset.move || 0);
    if (move < 0 && card.previousElementSibling) list.insertBefore(card, card.previousElementSibling);
    if (move > 0 && card.nextElementSibling) list.insertBefore(card.nextElementSibling, card);
    if (move) {
      retime();
      e.target.focus();  // moving the card took the focus off its arrow: a second press moves it again
    }
  });
  let dragged = null;
  list.addEventListener("dragstart", (e) => { dragged = e.target.closest("li"); dragged.classList.add("dragging"); });
  list.addEventListener("dragend", () => {
    if (dragged) { dragged.classList.remove("dragging"); retime(); }
    dragged = null;
  });
  list.addEventListener("dragover", (e) => {
    e.preventDefault();
    const over = e.target.closest("li");
    if (dragged && over && over !== dragged) {
      const after = e.clientX > over.getBoundingClientRect().left + over.offsetWidth / 2;
      list.insertBefore(dragged, after ? over.nextElementSibling : over);
    }
  });

  // The video's length, checked against the cards and the plan before anything is asked of the API.
  const length = document.getElementById("sb-seconds");
  function seconds(cards) {
    const value = Number(length.value);
    const last = Math.max(...cards.map((c) => c.start));
    const most = Number(length.dataset.max || Infinity);
    let problem = null;
    if (length.value === "" || !(value > 0)) problem = "Length must be a number of seconds above 0";
    else if (value <= last) problem = `Length (${value} s) must be longer than the last card's start (${last} s)`;
    else if (value > most) problem = `Length (${value} s) is over your plan's longest video (${most} s)`;
    length.setAttribute("aria-invalid", String(problem !== null));
    if (problem) throw new Error(problem);
    return String(value);
  }

  // The storyboard as the page stands: what Render sends, and what its price is asked for. A card
  // is named as the page shows it ("Shot 2"), and the field to fix is marked.
  function board() {
    const cards = [...list.children].map((li) => ({
      prompt: li.querySelector("[name=prompt]").value.trim(),
      start: Number(li.querySelector("[name=start]").value),
    }));
    const prompts = [...list.querySelectorAll("[name=prompt]")];
    prompts.forEach((input) => input.setAttribute("aria-invalid", String(!input.value.trim())));
    // An emptied Start reads as "" (Number("") is 0): say so rather than send a 0 nobody typed.
    const blank = starts().findIndex((i) => i.value === "");
    starts().forEach((input) => input.setAttribute("aria-invalid", String(input.value === "")));
    if (!cards.length) throw new Error("a storyboard needs at least one card: press Add card");
    const empty = cards.findIndex((c) => !c.prompt);
    if (empty >= 0) throw new Error(`Shot ${empty + 1} needs a prompt: say what happens in it, or remove the card`);
    if (blank >= 0) throw new Error(`Shot ${blank + 1} needs a start second`);
    return { model: document.getElementById("sb-model").value, size: size(), seconds: seconds(cards), cards };
  }

  // The API names a card by its place from 0 (`cards[1].start`); the page by its shot number from 1
  // ("Shot 2's start"). Its refusals are shown in the page's words, with the field they name marked.
  function inPageWords(e) {
    const shot = (i) => `Shot ${Number(i) + 1}`;
    const text = e.message
      .replace(/cards\[(\d+)\]\.(prompt|start)/g, (_, i, field) => `${shot(i)}'s ${field}`)
      .replace(/cards\[(\d+)\]/g, (_, i) => shot(i));
    const named = /^cards\[(\d+)\]\.(prompt|start)$/.exec(e.param || "");
    const card = named && list.children[Number(named[1])];
    if (card) card.querySelector(`[name=${named[2]}]`).setAttribute("aria-invalid", "true");
    const shown = new Error(text);
    return Object.assign(shown, { status: e.status, param: e.param, signIn: e.signIn });
  }

  const price = document.getElementById("sb-price");
  const most = () => Number(length.dataset.max || Infinity);
  // Why Add did nothing, shown until the board has room again.
  const full = () => `the board is at your plan's ${most()} s; remove a card or shorten one`;
  let asked = 0;
  async function reprice() {
    if (!error.hidden && error.textContent === full() && next() < most()) Studio.showError(error, null);
    const mine = ++asked;  // an answer to an older board must not overwrite a newer one
    let text;
    try {
      const q = await Studio.quote(Studio.tasks.storyboard(), board());
      text = `${Studio.price(q)} (${q.seconds} s at ${q.size})`;
    } catch (e) {
      text = inPageWords(e).message;
    }
    if (mine === asked) price.textContent = text;
  }

  const edited = () => {
    save();
    reprice();
  };

  // A card added at or past the end lengthens the video to hold it (to the plan's longest at most);
  // none is added at or past the plan's longest, where it could not be rendered.
  document.getElementById("sb-add").addEventListener("click", () => {
    const start = next();
    if (start >= most()) {
      Studio.showError(error, new Error(full()));
      return;
    }
    Studio.showError(error, null);
    add("", start);
    if (Number(length.value) <= start) length.value = String(Math.min(start + SPACING, most()));
    edited();
  });
  list.addEventListener("click", edited);
  document.addEventListener("change", edited);
  list.addEventListener("dragend", edited);
  list.addEventListener("input", save);  // a prompt is kept as it is typed, before it loses focus
  length.addEventListener("input", save);

  // The board edited in another tab of this browser and account: shown here too, so that an edit
  // here does not write an older board over that one. One rendered or cleared there stays here.
  window.addEventListener("storage", (e) => {
    if (e.key !== DRAFT || e.newValue === null) return;
    list.replaceChildren();
    restore();
    reprice();
  });

  // Clear: every card off the board, and its draft forgotten.
  document.getElementById("sb-clear").addEventListener("click", () => {
    if (list.children.length && !window.confirm("Remove every card from the storyboard?")) return;
    list.replaceChildren();
    forget();
    Studio.showError(error, null);
    reprice();
  });
  const render = document.getElementById("sb-render");
  render.addEventListener("click", async () => {
    if (render.disabled) return;
    Studio.showError(error, null);
    let body;
    try {
      body = board();
    } catch (e) {
      Studio.showError(error, e);
      return;
    }
    render.disabled = true;  // one storyboard per click, however fast the clicks
    try {
      const v = await Studio.api("POST", Studio.tasks.storyboard(), body);
      forget();  // rendered: the job is in the library; an edit from here on is a new draft
      Studio.jobTile(v, out);
    } catch (e) {
      Studio.showError(error, inPageWords(e));
    } finally {
      render.disabled = false;
    }
  });

  if (!restore()) {
    add("A red ball rolls in from the left", 0);
    add("The ball bounces twice", 4);
  }
  reprice();
});
