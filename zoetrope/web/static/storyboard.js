// The Storyboard page: a timeline of prompt cards (add, drag or move, remove) rendered as one video.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("cards");
  const tpl = document.getElementById("card-template");
  const error = document.getElementById("sb-error");
  const ASPECT = { landscape: [16, 9], vertical: [9, 16], square: [1, 1] };
  // WIDTHxHEIGHT for the chosen aspect at the chosen resolution (short side), even sides: as Create.
  const size = () => {
    const [w, h] = ASPECT[document.getElementById("sb-aspect").value];
    const s = Number(document.getElementById("sb-resolution").value) / Math.min(w, h);
    return `${Math.round((w * s) / 2) * 2}x${Math.round((h * s) / 2) * 2}`;
  };

  function add(prompt = "", start = null) {
    const card = tpl.content.firstElementChild.cloneNode(true);
    const last = list.lastElementChild;
    card.querySelector("[name=start]").value = start ?? (last ? Number(last.querySelector("[name=start]").value) + 4 : 0);
    card.querySelector("[name=prompt]").value = prompt;
    list.append(card);
  }

  // Reordering moves the shots, not the clock: the start times stay in their slots, in time
  // order, and each card takes the slot of its new position.
  function retime() {
    const inputs = [...list.querySelectorAll("[name=start]")];
    const starts = inputs.map((i) => Number(i.value)).sort((a, b) => a - b);
    inputs.forEach((input, i) => { input.value = starts[i]; });
  }

  list.addEventListener("click", (e) => {
    const card = e.target.closest("li");
    if (!card) return;
    if (e.target.dataset.remove !== undefined) card.remove();
    const move = Number(e.target.dataset.move || 0);
    if (move < 0 && card.previousElementSibling) list.insertBefore(card, card.previousElementSibling);
    if (move > 0 && card.nextElementSibling) list.insertBefore(card.nextElementSibling, card);
    if (move) retime();
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

  // The storyboard as the page stands: what Render sends, and what its price is asked for.
  function board() {
    const cards = [...list.children].map((li) => ({
      prompt: li.querySelector("[name=prompt]").value.trim(),
      start: Number(li.querySelector("[name=start]").value),
    }));
    if (!cards.length || cards.some((c) => !c.prompt)) {
      throw new Error("every card needs a prompt, and a storyboard needs at least one card");
    }
    return { model: document.getElementById("sb-model").value, size: size(), seconds: seconds(cards), cards };
  }

  const price = document.getElementById("sb-price");
  let asked = 0;
  async function reprice() {
    const mine = ++asked;  // an answer to an older board must not overwrite a newer one
    let text;
    try {
      const q = await Studio.quote(Studio.tasks.storyboard(), board());
      text = `${q.credits} credits (${q.seconds} s at ${q.size})`;
    } catch (e) {
      text = e.message;
    }
    if (mine === asked) price.textContent = text;
  }

  // A card added at or past the end lengthens the video to hold it (to the plan's longest at most).
  document.getElementById("sb-add").addEventListener("click", () => {
    add();
    const start = Number(list.lastElementChild.querySelector("[name=start]").value);
    if (Number(length.value) <= start) length.value = String(Math.min(start + 4, Number(length.dataset.max || Infinity)));
    reprice();
  });
  list.addEventListener("click", reprice);
  document.addEventListener("change", reprice);
  list.addEventListener("dragend", reprice);
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
      Studio.jobTile(v, document.getElementById("sb-out"));
    } catch (e) {
      Studio.showError(error, e);
    } finally {
      render.disabled = false;
    }
  });

  add("A red ball rolls in from the left", 0);
  add("The ball bounces twice", 4);
  reprice();
});
