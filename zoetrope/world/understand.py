"""Reading a free-form prompt as a world scene, and saying it again in the words the bundled model knows best.

The bundled model learned its world from captions in two wordings; people write in many more. `read_prompt`
finds the objects (shape, colour, size), what each does (motion and speed), how two of them stand (left of,
above, behind) and the camera and backdrop, from ordinary English; `plain_caption` renders that reading in the
training wording. `canonical_prompt` does both and answers None when the prompt is not clearly a world scene
(an object without a colour or a shape, or with nothing said about what it does), so that such a prompt
reaches the model as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from zoetrope.world.phrases import BACKDROP_WORDS as BACKDROP_NAMES
from zoetrope.world.phrases import (
    BACKGROUND_PHRASES,
    CAMERA_PHRASES,
    FRAMES,
    GROUND_WORDS,
    MOTION_PHRASES,
    OCCLUSION_PHRASES,
    RELATION_VARIED,
    RELATION_WORDS,
    SKY_WORDS,
    SPEED_WORDS,
)
from zoetrope.world.phrases import COLOR_WORDS as TRAINED_COLOR_WORDS
from zoetrope.world.phrases import SHAPE_WORDS as TRAINED_SHAPE_WORDS
from zoetrope.world.phrases import SIZE_WORDS as TRAINED_SIZE_WORDS


def _lexicon(trained: dict[str, tuple[str, ...]], extra: dict[str, tuple[str, ...]]) -> dict[str, str]:
    words = {w: name for name, ws in trained.items() for w in ws}
    words.update({w: name for name, ws in extra.items() for w in ws})
    return words


COLORS = _lexicon(TRAINED_COLOR_WORDS, {
    "red": ("ruby", "cherry"), "orange": ("amber",), "yellow": ("gold",), "green": ("lime", "jade"),
    "cyan": ("teal",), "blue": ("navy", "sapphire"), "purple": ("lavender", "lilac", "indigo"),
    "pink": ("fuchsia",),
})
SHAPES = _lexicon(TRAINED_SHAPE_WORDS, {
    "circle": ("disk", "dot", "orb", "sphere"), "square": ("cube", "tile"), "ring": ("doughnut",),
    "cross": ("plus",),
})
SIZES = _lexicon(TRAINED_SIZE_WORDS, {"small": ("mini", "smaller"), "medium": ("medium", "mid"),
                                      "large": ("huge", "giant", "bigger", "larger")})
BACKDROPS = {**{w: name for name, w in BACKDROP_NAMES.items()}, "grey": "gray", "sand": "sand", "beige": "sand"}
SKIES = {"day": ("day", "daytime", "bright", "clear", "sunny", "blue"), "dusk": ("dusk", "evening", "sunset", "twilight"),
         "night": ("night", "nighttime", "dark", "midnight", "starry")}
GROUNDS = {"earth": ("earth", "dirt", "soil", "ground"), "meadow": ("grass", "grassy", "meadow", "field", "lawn"),
           "stone": ("stone", "stony", "rock", "rocky", "pebbles")}
NUMBERS = {"two": 2, "2": 2, "pair": 2, "three": 3, "3": 3}
_VERB_USE = re.compile(r"circl\w* (?:a?round|about)\b|(?<=in )circles?\b|(?<=in a )circle\b")
_DETERMINERS = frozenset({"a", "an", "the", "one", "another", "that", "this", "some", "of", "sized"})

# What each object does: the first pattern that matches its words wins (bounce before "falls", spin before "in place").
_MOTION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("bounce", r"\bbounc|\bhops?\b|\bhopping\b|\bjump"),
    ("orbit", r"\borbit|\bcircl\w* (?:a?round|about)\b|\bround and round\b|\bin (?:a )?circles?\b|"
              r"\b(?:round|circular) (?:path|route|track)\b|\brevolv|\bloop\w* (?:a?round|about)\b"),
    ("spin", r"\bspin|\bspun\b|\brotat|\bwhirl|\btwirl|\bpirouett|\bturn\w* (?:a?round )?in place\b"),
    ("grow", r"\bgrow|\bgrew\b|\b(?:bigger|larger)\b|\bexpand|\benlarg|\bswell|\binflat|\bincreas\w* in size|"
             r"\bscal\w* up\b"),
    ("shrink", r"\bshrink|\bshrank\b|\b(?:smaller|tinier)\b|\bcontract|\bdeflat|\bdecreas\w* in size|"
               r"\bscal\w* down\b|\bdwindl"),
    ("fade out", r"\bfad\w* (?:out|away)\b|\bfad\w* from view\b|\bdisappear|\bvanish|\bdissolv"),
    ("fade in", r"\bfad\w* in(?:to view)?\b|\bappear|\bcom\w* into view\b|\bmateriali"),
    ("still", r"\bstill\b|\bmotionless|\bstationary\b|\bstays? put\b|\bnot moving\b|\bdo\w*n'?t move\b|"
              r"\bdoes not move\b|\bat rest\b|\brest\w*\b|\bin place\b|\bkeeps? its (?:place|position)\b|"
              r"\bholds? its (?:place|position)\b|\bunmoving\b|\bstatic\b|\bfrozen\b|\bmotion ?less\b"),
)
_HORIZONTAL = ((r"\bfrom (?:the )?(?:left|right)(?: side| edge)? to (?:the )?(left|right)\b", None),
               (r"\b(left|right)(?:wards?)?\b", None), (r"\bwest", "left"), (r"\beast", "right"))
_VERTICAL = ((r"\bfrom (?:the )?(?:top|bottom)(?: edge)? to (?:the )?(top|bottom)\b", None),
             (r"\bhigher and higher\b|\bupp?(?:wards?|er)?\b|\btop\b|\bris(?:e|es|ing)\b|\brose\b|\bclimb|\bascend|"
              r"\bsoar|\blift", "up"),
             (r"\blower and lower\b|\bdown(?:wards?)?\b|\blower\b|\bbottom\b|\bfall|\bfell\b|\bdrop|\bsink|\bsank\b|"
              r"\bdescend|\bdiv(?:e|es|ing)\b|\bplummet", "down"))
_SPEEDS = (("fast", r"\bquick|\bfast\b|\brapid|\bbrisk|\bspeed|\bswift|\bhurried|\bhigh speed\b|\bin a hurry\b"),
           ("slow", r"\bslow|\bgentl|\blazi|\blazy\b|\bcalm|\bleisure|\bat a crawl\b|\bsluggish|\bunhurried"))
_CHANGE = re.compile(r"\b(?:turn|chang|becom|switch|shift|go|goes|went|fad)\w*(?: (?:its )?colou?rs?)?"
                     r"(?: from (?:\w+ )?\w+)?(?: (?:to|into))? (\w+)\b")
_RELATIONS: tuple[tuple[str, str], ...] = (
    ("left of", r"\b(?:to |on |at )?(?:the |its |their )?left(?: hand)?(?: side)?(?: of\b)?"),
    ("right of", r"\b(?:to |on |at )?(?:the |its |their )?right(?: hand)?(?: side)?(?: of\b)?"),
    ("above", r"\b(?:up above|above|on top of|higher than|over)\b"),
    ("below", r"\b(?:down below|below|underneath|beneath|under|lower than)\b"),
)
_CAMERA = re.compile(r"\b(?:(?:camera|view|shot|lens|frame)\b[^,;.]{0,24}?\b)?"
                     r"(pan|tilt|zoom|pull|push|dolly|track)\w*(?: \w+)?? (left|right|up|down|in|out|back|closer|away)\b")
_BEHIND = re.compile(r"\bbehind\b")
_OCCLUSION_WORDS = (r"\bbehind\b|\b(?:re)?appear\w*|\bcom\w* out\w*|\bemerg\w*|\bthe other side\b|"
                    r"\bout again\b|\bdisappear\w*|\bout of sight\b")
_PRONOUN = re.compile(r"\W*(?:it|its|them|their|it's)\b")


@dataclass
class ObjectReading:
    shape: str
    color: str | None = None
    size: str | None = None
    motion: str | None = None
    speed: str | None = None
    color_to: str | None = None
    before: str = ""  # words said of it before its noun ("a slowly spinning star")
    start: int = 0  # where its mention starts and ends in the normalised text
    end: int = 0


@dataclass
class SceneReading:
    objects: list[ObjectReading] = field(default_factory=list)
    relation: tuple[int, str, int] | None = None  # subject, relation, object
    behind: tuple[int, int] | None = None  # mover, screen
    camera: str | None = None
    background: tuple[str, str, str | None] | None = None  # kind, colour, second colour


def _normalise(prompt: str) -> str:
    text = prompt.lower().replace("colour", "color").replace("grey", "gray").replace("-", " ")
    text = re.sub(r"\bplus signs\b", "pluses", re.sub(r"\bplus sign\b", "plus", text))
    return " ".join(re.findall(r"[a-z0-9']+|[,;:.!?]", text))


def _claim(text: str, start: int, end: int) -> str:
    """The text with [start, end) blanked out, so later readings skip it and offsets stay valid."""
    return text[:start] + " " * (end - start) + text[end:]


def _background(text: str) -> tuple[tuple[str, str, str | None] | None, str]:
    if sky := re.search(r"(?:\b(\w+) )?\bsky\b", text):
        kind = next((k for k, ws in SKIES.items() if sky.group(1) in ws), None)
        kind = kind or next((k for k, ws in SKIES.items() for w in ws if re.search(rf"\b{w}\b", text)), "day")
        ground = next((g for g, ws in GROUNDS.items() for w in ws if w != "ground" and re.search(rf"\b{w}\b", text)),
                      "earth")
        return ("sky", kind, ground), _claim(text, sky.start(), sky.end())
    tones = [(m.start(), m.end(), BACKDROPS[m.group()]) for m in re.finditer(r"\b[a-z]+\b", text)
             if m.group() in BACKDROPS]
    if len(tones) >= 2 and re.search(r"\bgradient|\bfad\w* from|\bblend|\b to \b", text):
        return ("gradient", tones[0][2], tones[1][2]), _claim(text, tones[0][0], tones[1][1])
    if tones:
        return ("solid", tones[0][2], None), _claim(text, tones[0][0], tones[0][1])
    return None, text


def _words(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in re.finditer(r"[a-z0-9']+|[,;:.!?]", text)]


def _shape(word: str) -> str | None:
    for stem in (word, word[:-2] if word.endswith("es") else "", word[:-1] if word.endswith("s") else ""):
        if stem in SHAPES:
            return stem
    return None


def _mentions(text: str) -> list[tuple[ObjectReading, int]]:
    """Each mention of a shape, with the index of the object it names (a later "the ball" names an earlier one)."""
    found: list[tuple[ObjectReading, int]] = []
    objects: list[ObjectReading] = []
    tokens = _words(text)
    for i, (start, end, word) in enumerate(tokens):
        stem = _shape(word)
        if stem is None or _VERB_USE.match(text, start):  # "circles around", "in circles": a motion
            continue
        obj = ObjectReading(SHAPES[stem], start=start, end=end)
        before = tokens[max(0, i - 4): i]
        copies, article, shared = 1, False, []
        for n, (b_start, _, w) in enumerate(reversed(before)):
            if w.endswith("ing") or any(re.fullmatch(p + r"\w*", w) for _, p in _SPEEDS):
                obj.start, obj.before = b_start, f"{w} {obj.before}"  # "a spinning red star": its own motion
                continue
            if w == "and" and obj.color:  # "a red and a blue ball": the noun is said once for both
                shared = _listed_colors(tokens[max(0, i - n - 4): i - n - 1])
                obj.start = shared[0][0] if shared else obj.start
                break
            if not (w in COLORS or w in SIZES or w in NUMBERS or w in _DETERMINERS):
                break
            if w in COLORS or w in SIZES or w in NUMBERS:
                obj.start = b_start
            obj.color = obj.color or COLORS.get(w)
            obj.size = obj.size or SIZES.get(w)
            copies = NUMBERS.get(w, copies) if stem != word else 1
            article = article or w in ("the", "that", "this")
        after = tokens[i + 1: i + 5]
        if obj.color is None and after and after[0][2] in ("colored", "painted", "in", "that", "which", "of"):
            hit = next(((a, b, w) for a, b, w in after[1:] if w in COLORS), None)
            if hit and not any(w in ",;:.!?" for _, _, w in after[: after.index(hit)]):
                obj.color, obj.end = COLORS[hit[2]], hit[1]
        if obj.color is None and copies > 1:  # "two balls, one red and one blue"
            listed = _listed_colors(tokens[i + 1: i + 9], forward=True)
            if len(listed) == copies:
                obj.end = tokens[i + 1 + max(k for k, t in enumerate(tokens[i + 1: i + 9]) if t[0] == listed[-1][0])][1]
                shared, copies = listed[:-1], 1
                obj.color = COLORS[listed[-1][2]]
        same = [k for k, o in enumerate(objects) if o.shape == obj.shape]
        if obj.color is None and same and article:
            found.append((obj, same[-1]))  # "the ball" again: the same object
            continue
        for _, _, w in shared:
            objects.append(ObjectReading(**{**obj.__dict__, "color": COLORS[w]}))
            found.append((objects[-1], len(objects) - 1))
        for _ in range(copies):
            objects.append(ObjectReading(**obj.__dict__))
            found.append((objects[-1], len(objects) - 1))
    return found


def _listed_colors(tokens: list[tuple[int, int, str]], forward: bool = False) -> list[tuple[int, int, str]]:
    """The colour words of a list such as "one red and one blue" (read forward from a noun) or "a red"
    (read back from "and"): only articles, "one", sizes, commas and "and" may stand between them."""
    listed: list[tuple[int, int, str]] = []
    stop, last = None, None
    for token in tokens if forward else reversed(tokens):
        w = token[2]
        if w in COLORS:
            listed.append(token)
        elif not (w in SIZES or w in ("a", "an", "one", "the", "other", "and", ",")):
            stop = w
            break
        last = w
    if forward:
        return listed
    # Read back, the list must open a noun phrase: "a red and a blue ball", never "turns red and a blue ball".
    opens = stop is None or stop in NUMBERS or stop in ",;:.!?" or last in ("a", "an", "the", "one")
    return listed[::-1] if opens else []


def _motion(words: str, obj: ObjectReading) -> None:
    for change in _CHANGE.finditer(words):
        if change.group(1) in COLORS and COLORS[change.group(1)] != obj.color:
            obj.motion, obj.color_to = "color change", COLORS[change.group(1)]
            return
    for motion, pattern in _MOTION_PATTERNS:
        if re.search(pattern, words):
            obj.motion = motion
            break
    else:
        h = next((g or m.group(1) for p, g in _HORIZONTAL if (m := re.search(p, words))), None)
        v = next((g or {"top": "up", "bottom": "down"}[m.group(1)] for p, g in _VERTICAL if (m := re.search(p, words))),
                 None)
        obj.motion = f"{v}-{h}" if h and v else h or v
    if obj.motion and (speed := next((s for s, p in _SPEEDS if re.search(p, words)), None)):
        obj.speed = speed


def _relation(text: str, spans: list[tuple[int, int]]) -> tuple[tuple[int, str, int] | None, str]:
    """How the two objects stand, from a phrase such as "left of B", "above it" or "A on the left"."""
    for relation, pattern in _RELATIONS:
        for m in re.finditer(pattern, text):
            pronoun = _PRONOUN.match(text, m.end()) or re.search(r"\b(?:its|their)\b", m.group())
            nxt = next((k for k, (s, _) in enumerate(spans) if s >= m.end()), None)
            gap = text[m.end(): spans[nxt][0]] if nxt is not None else ""
            prev = max((k for k, (_, e) in enumerate(spans) if e <= m.start()), default=None, key=lambda k: spans[k][1])
            if pronoun and prev is not None:
                subject, claim_end = prev, max(m.end(), pronoun.end() if pronoun.re is _PRONOUN else 0)
            elif nxt is not None and len(gap.split()) <= 2 and not re.search(r"[,;:.!?]|\band\b", gap) and (
                m.group().endswith(("of", "than")) or relation in ("above", "below")
            ):
                subject, claim_end = 1 - nxt, m.end()
            elif m.group().startswith(("on ", "at ")) and "of" not in m.group() and prev is not None:
                subject, claim_end = prev, m.end()
            else:
                continue
            return (subject, relation, 1 - subject), _claim(text, m.start(), claim_end)
    return None, text


def read_prompt(prompt: str) -> SceneReading:
    """What `prompt` says of a world scene, as far as it can be read; fields left None were not said."""
    text = _normalise(prompt)
    reading = SceneReading()
    if cam := _CAMERA.search(text):
        verb, way = cam.group(1), cam.group(2)
        zoom = {"in": "in", "closer": "in", "out": "out", "back": "out", "away": "out"}.get(way)
        if verb in ("zoom", "pull", "push", "dolly") and zoom:
            reading.camera = f"zoom {zoom}"
        elif verb in ("pan", "tilt", "track") and way in ("left", "right", "up", "down"):
            reading.camera = f"pan {way}"
        if reading.camera:
            text = _claim(text, cam.start(), cam.end())
    reading.background, text = _background(text)
    mentions = _mentions(text)
    reading.objects = objects = []
    for obj, k in mentions:
        if k == len(objects):
            objects.append(obj)
    for obj, _ in mentions:
        text = _claim(text, obj.start, obj.end)
    if len(objects) == 2:
        spans = [(objects[0].start, objects[0].end), (objects[1].start, objects[1].end)]
        if behind := _BEHIND.search(text):
            mover = 1 if behind.start() > objects[1].end or behind.start() < objects[0].start else 0
            reading.behind = (mover, 1 - mover)
            for m in re.finditer(_OCCLUSION_WORDS, text):
                text = _claim(text, m.start(), m.end())
        else:
            reading.relation, text = _relation(text, spans)
            if reading.relation:  # "A on the left and B on the right": the second side says nothing new
                text = re.sub(r"\b(?:on|at) the (?:left|right)(?: hand)?(?: side)?\b", lambda m: " " * len(m.group()), text)
    # Each object's words run from its mention to the next mention; the words before the first belong to it.
    said: dict[int, str] = {}
    for n, (obj, k) in enumerate(mentions):
        until = next((o.start for o, _ in mentions[n + 1:] if o.start > obj.start), len(text))
        said[k] = said.get(k, "") + " , " + (text[: obj.start] if n == 0 else "") + " , " + text[obj.end: until]
    for k, obj in enumerate(objects):
        _motion(obj.before + said.get(k, ""), obj)
    together = [k for k in said if re.search(r"\b(?:both|all|each|they|together)\b", said[k])]
    for obj in objects:  # "a ring and a heart, both spinning"
        if obj.motion is None and together:
            _motion(said[together[-1]], obj)
    if reading.behind and objects[reading.behind[1]].motion is None:
        objects[reading.behind[1]].motion = "still"
    return reading


def _noun(obj: ObjectReading) -> str:
    words = " ".join(w for w in (obj.size and TRAINED_SIZE_WORDS[obj.size][0], obj.color, obj.shape) if w)
    return ("an " if words[0] in "aeiou" else "a ") + words


def _does(obj: ObjectReading) -> str:
    phrase = MOTION_PHRASES["train"][obj.motion or "still"][0].format(to=obj.color_to or "")
    return phrase + (" " + SPEED_WORDS["train"][obj.speed][0] if obj.speed else "")


def plain_caption(reading: SceneReading) -> str:
    """The reading in the training wording (the first synonym of each phrase)."""
    objs = reading.objects
    if reading.relation:
        a, rel, b = reading.relation
        words = RELATION_WORDS[rel][0]
        if any(o.motion for o in objs):
            sentence = f"{_noun(objs[a])}, which {_does(objs[a])}, {words} {_noun(objs[b])}, which {_does(objs[b])}"
        else:
            sentence = f"{_noun(objs[a])} {words} {_noun(objs[b])}"
    elif reading.behind:
        mover, screen = (objs[i] for i in reading.behind)
        behind = OCCLUSION_PHRASES["train"][0].format(b=_noun(screen))
        sentence = f"{_noun(mover)} {_does(mover)} and {behind}" if mover.motion else f"{_noun(mover)} {behind}"
    else:
        clauses = [f"{_noun(o)} {_does(o)}" for o in objs]
        sentence = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    if reading.camera:
        sentence += " as " + CAMERA_PHRASES["train"][reading.camera][0]
    if reading.background:
        kind, a, b = reading.background
        template = BACKGROUND_PHRASES["train"][kind][0]
        if kind == "sky":
            sentence += ", " + template.format(a=SKY_WORDS[a][0], b=GROUND_WORDS[b or "earth"])
        else:
            sentence += ", " + template.format(a=BACKDROP_NAMES[a], b=BACKDROP_NAMES.get(b or "", ""))
    return sentence


def _any(phrases) -> str:
    """A regex of any of `phrases` as normalised text; "{a}", "{b}", "{to}" stay slots to fill."""
    def norm(p: str) -> str:
        return re.sub(r"slot(\w+)slot", r"{\1}", _normalise(re.sub(r"\{(\w+)\}", r"slot\1slot", p)))

    said = sorted({norm(p) for p in phrases} - {""}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(p).replace(r"\{", "{").replace(r"\}", "}") for p in said) + ")"


@cache
def _training_sentence() -> re.Pattern:
    """A sentence built the way the training captions are: a noun phrase first (after a frame or a
    backdrop), then whole phrases of the two training wordings and their joints."""
    color = _any(w for ws in TRAINED_COLOR_WORDS.values() for w in ws)
    shape = _any(w for ws in TRAINED_SHAPE_WORDS.values() for w in ws)
    size = _any(w for ws in TRAINED_SIZE_WORDS.values() for w in ws)
    noun = rf"(?:a|an) (?:{size} )?(?:{color} {shape}|{shape} that is {color})"
    tone = _any([*BACKDROP_NAMES.values(), *GROUND_WORDS.values(), *(w for ws in SKY_WORDS.values() for w in ws)])
    styles = ("train", "varied")
    backdrop = _any(t for st in styles for ts in BACKGROUND_PHRASES[st].values() for t in ts)
    backdrop = backdrop.replace("{a}", tone).replace("{b}", tone)
    frame = _any(f.split("{s}")[0] for st in styles for fs in FRAMES[st].values() for f in fs if "{s}" in f)
    items = [
        noun, "which", "is", "as", backdrop,
        _any(p for st in styles for ps in MOTION_PHRASES[st].values() for p in ps).replace("{to}", color),
        _any(w for st in styles for ws in SPEED_WORDS[st].values() for w in ws),
        _any(p for st in styles for ps in CAMERA_PHRASES[st].values() for p in ps),
        _any(p for st in styles for p in OCCLUSION_PHRASES[st]).replace("{b}", noun),
        _any(w for table in (RELATION_WORDS, RELATION_VARIED) for ws in table.values() for w in ws),
    ]
    item = "(?:" + "|".join(items) + ")"
    return re.compile(rf"(?:{frame} )?(?:{backdrop}(?: [,:;])? )?{noun}(?:(?: [,;:]| and)? {item})*")


def in_training_wording(prompt: str) -> bool:
    """Whether `prompt` is worded as the captions the model learned from (then it goes as typed)."""
    return _training_sentence().fullmatch(_normalise(prompt)) is not None


def canonical_prompt(prompt: str) -> str | None:
    """`prompt` in the training wording, or None where it is not clearly a scene of the world. A
    prompt already worded as a training caption is answered as typed: the model learned those words."""
    reading = read_prompt(prompt)
    objs = reading.objects
    if not objs or len(objs) > 3 or any(o.color is None for o in objs):
        return None
    if (reading.relation or reading.behind) and len(objs) != 2:
        return None
    if not (reading.relation or reading.behind) and any(o.motion is None for o in objs):
        return None
    return prompt.strip() if in_training_wording(prompt) else plain_caption(reading)
