"""C2PA content credentials: sign every MP4 and PNG Zoetrope writes, and read them back.

A manifest says the file was made by a trained model (`c2pa.created` with digitalSourceType
trainedAlgorithmicMedia), names the model and the generation id, and for edits (extend, remix)
records `c2pa.opened` + `c2pa.edited` with the parent file as its ingredient, the edit too
carrying a digitalSourceType (compositeWithTrainedAlgorithmicMedia where source footage is kept),
and `c2pa.placed` for each other input kept in the output (a blend's second clip, a still).
Reading says whether each ingredient, at any depth, was intact and signed under our root when it
was used, so an edit of a tampered or forged file does not read as a clean chain.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from zoetrope.errors import InvalidMedia
from zoetrope.media.encode import temporary_beside
from zoetrope.media.sources import sniff
from zoetrope.safety.keys import ISSUER, SigningIdentity, signing_identity, trust_anchor

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
# Made by a model from footage or a picture that is kept in it (an extension, a blend, an animated still).
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
)
GENERATION_ASSERTION = "org.zoetrope.generation"
_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".png": "image/png",
         ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}  # fmt: skip
_SNIFFED = {"mp4": "video/mp4", "png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
UNTRUSTED = "signingCredential.untrusted"
_TRUSTED = "signingCredential.trusted"
PNG_MANIFEST_CRC = "png.caBX.crcMismatch"  # ours: C2PA readers do not check a chunk's CRC


@dataclass(frozen=True)
class IngredientReport:
    """A file an edit was made from, as its manifest recorded it when it was used. `state` is
    trusted, valid, invalid (changed after signing, or its manifest damaged) or not_present."""

    title: str | None
    relationship: str  # parentOf (the edited file), componentOf (kept in it), inputTo
    state: str
    failures: list[str] = field(default_factory=list)
    impersonates: bool = False  # claims to be Zoetrope's, but not signed under our root
    depth: int = 1  # 1: an ingredient of the file itself; 2: of that ingredient; ...


@dataclass(frozen=True)
class C2PAReport:
    """What a file's C2PA manifest says. `state` is trusted, valid, invalid or not_present."""

    state: str
    issuer: str | None = None
    common_name: str | None = None
    actions: list[str] = field(default_factory=list)
    digital_source_type: str | None = None
    generation_id: str | None = None
    model: str | None = None
    generator: str | None = None
    signed_at: str | None = None
    parent: str | None = None  # title of the parent ingredient, for edits
    failures: list[str] = field(default_factory=list)  # validation failure codes
    claims_zoetrope: bool = False  # names a Zoetrope generation, issuer, generator or model
    ingredients: list[IngredientReport] = field(default_factory=list)  # the whole chain, depth first

    @property
    def valid(self) -> bool:
        return self.state in ("valid", "trusted")

    @property
    def impersonates(self) -> bool:
        """The manifest looks like Zoetrope's (our generation assertion, issuer, generator or model
        names), but no certificate under this installation's root signed it: a claim anyone could
        have made, never one of our records."""
        return self.claims_zoetrope and self.state == "valid"

    @property
    def altered_sources(self) -> list[IngredientReport]:
        """The files it was made from that had been changed after signing, or forged as ours."""
        return [i for i in self.ingredients if i.state == "invalid" or i.impersonates]

    def to_json(self) -> dict:
        return {"valid": self.valid, "impersonates": self.impersonates, **asdict(self)}


def _mime(path: Path) -> str:
    try:
        return _MIME[path.suffix.lower()]
    except KeyError:
        raise InvalidMedia(f"{path.name}: C2PA signing supports {', '.join(sorted(_MIME))}") from None


def _read_mime(path: Path) -> str:
    """The media type of a file to read: from its first bytes, whatever its name says (a signed PNG
    saved as .mp4 is still read, and checked, as a PNG); from its name where they say nothing we
    know, or for an MP4 named .mov (QuickTime's own type)."""
    with open(path, "rb") as f:
        kind = sniff(f.read(16))
    named = _MIME.get(path.suffix.lower())
    if kind is None:
        if named is None:
            raise InvalidMedia(f"{path.name} is not an MP4, PNG, JPEG or WebP file", param="file")
        return named
    if kind == "mp4" and named in ("video/mp4", "video/quicktime"):
        return named
    return _SNIFFED[kind]


def _manifest(
    path: Path,
    generation_id: str,
    model: str,
    actions: list[str],
    parent: Path | None,
    components: int = 0,
    source_type: str = TRAINED_ALGORITHMIC_MEDIA,
) -> dict:
    from zoetrope import __version__

    entries: list[dict] = []
    # When it was made, in the action's own `when` (the signature carries a time only when a
    # timestamp authority countersigns, which an offline signer has none of).
    when = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    for action in actions:
        entry: dict = {"action": action, "softwareAgent": {"name": f"Zoetrope {model}"}, "when": when}
        if action in ("c2pa.created", "c2pa.edited"):  # what a viewer reads to label the file AI-made
            entry["digitalSourceType"] = source_type
        entry["parameters"] = {GENERATION_ASSERTION + ".id": generation_id}
        entries.append(entry)
    if parent is not None and "c2pa.opened" not in actions:
        entries.insert(0, {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}})
    elif parent is None and actions[0] not in ("c2pa.created", "c2pa.opened"):
        # An edit whose source cannot be its ingredient (C2PA cannot parse it): a manifest must begin
        # by creating or opening, so the file says it was made here, then edited.
        entries.insert(0, {**entries[0], "action": "c2pa.created", "digitalSourceType": source_type})
    for n in range(1, components + 1):
        entries.append({"action": "c2pa.placed", "parameters": {"ingredientIds": [f"component-{n}"]}})
    return {
        "claim_generator_info": [{"name": "Zoetrope", "version": __version__}],
        "title": path.name,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": entries}},
            {"label": GENERATION_ASSERTION, "data": {"generation_id": generation_id, "model": model}},
        ],
    }


def sign_file(
    path: str | os.PathLike[str],
    *,
    generation_id: str,
    model: str,
    actions: list[str] | None = None,
    parent: str | os.PathLike[str] | None = None,
    components: Sequence[str | os.PathLike[str]] = (),
    source_type: str = TRAINED_ALGORITHMIC_MEDIA,
    identity: SigningIdentity | None = None,
) -> Path:
    """Embed a signed C2PA manifest in the MP4 or PNG at `path`, in place, and return the path.

    `actions` default to `["c2pa.created"]`, or `["c2pa.edited"]` when a `parent` file is given
    (which then becomes the manifest's parent ingredient); the created or edited action carries
    `source_type` (COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA where source footage is kept).
    `components` are other files kept in the output (a blend's second clip, an animated still):
    ingredients `componentOf`, each with a `c2pa.placed` action. Each ingredient's validation,
    against this installation's root, is recorded as it is now. The file is replaced atomically: a
    reader sees the unsigned or the signed file, never half of one.
    """
    from c2pa import Builder, C2paSignerInfo, C2paSigningAlg, Context, Signer

    path = Path(path)
    mime = _mime(path)
    parent_path = Path(parent) if parent is not None else None
    parts = [Path(c) for c in components]
    actions = actions or (["c2pa.edited"] if parent_path else ["c2pa.created"])
    identity = identity or signing_identity()
    info = C2paSignerInfo(C2paSigningAlg.ES256, identity.chain_pem, identity.key_pem, None)
    # No thumbnail: it would copy a frame into the manifest, and for PNG double the file. Our root
    # as trust anchor: an ingredient's record then says whether it was ours when it was used.
    settings: dict = {"builder": {"thumbnail": {"enabled": False}}}
    if identity.root_pem:
        settings |= {"verify": {"verify_trust": True}, "trust": {"trust_anchors": identity.root_pem.decode()}}
    manifest = _manifest(path, generation_id, model, actions, parent_path, len(parts), source_type)
    with Signer.from_info(info) as signer, Builder(manifest, context=Context.from_dict(settings)) as builder:
        ingredients = [(parent_path, "parentOf", "parent")] if parent_path is not None else []
        ingredients += [(part, "componentOf", f"component-{n}") for n, part in enumerate(parts, 1)]
        for source, relationship, label in ingredients:
            with open(source, "rb") as src:
                ingredient = {"title": source.name, "relationship": relationship, "label": label}
                builder.add_ingredient(ingredient, _read_mime(source), src)
        _write_signed(builder, signer, mime, path)
    return path


def _write_signed(builder, signer, mime: str, path: Path) -> None:
    """Write the signed copy of `path` beside it and rename it over `path`. Where the system refuses
    (a full disk, a file size limit, a folder made read-only), raise its OSError naming `path`, with
    no copy left behind and `path` as it was (unsigned)."""
    tmp = temporary_beside(path)  # short and unique, however long the file's own name
    dst = None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)  # the signed file keeps the file's mode, not 0600
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        with _Written(os.fdopen(fd, "w+b")) as dst, open(path, "rb") as src:
            os.fchmod(fd, mode)
            builder.sign(signer, mime, src, dst)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        refused = dst.error if dst is not None and dst.error is not None else e
        if (
            isinstance(e, Exception)  # an interrupt stays one
            and isinstance(refused, OSError)
            and refused.errno is not None
            and (refused.filename is None or os.fspath(refused.filename) == os.fspath(tmp))
        ):  # the signed copy's own write, not reading the file: named as the file it was to replace
            raise OSError(refused.errno, refused.strerror, str(path)) from None
        raise


class _Written:
    """The signed copy's file as the C2PA library writes it, keeping the first OSError a write or a
    flush raised: the library turns one into its own Io error, without the system's reason."""

    def __init__(self, file) -> None:
        self.file, self.error = file, None

    def write(self, data) -> int:
        return self._kept(self.file.write, data)

    def flush(self) -> None:
        self._kept(self.file.flush)

    def _kept(self, call, *args):
        try:
            return call(*args)
        except OSError as e:
            self.error = self.error or e
            raise

    def __getattr__(self, name):  # read, seek, tell, ...
        return getattr(self.file, name)

    def __enter__(self) -> _Written:
        return self

    def __exit__(self, *exc) -> None:
        self._kept(self.file.close)  # the buffer's last bytes are written here


def _trust_context(root_pem: bytes | None):  # -> c2pa.Context | None
    from c2pa import Context

    root_pem = root_pem if root_pem is not None else trust_anchor()
    if root_pem is None:
        return None
    return Context.from_dict(
        {"verify": {"verify_trust": True}, "trust": {"trust_anchors": root_pem.decode()}}
    )


def read_provenance(path: str | os.PathLike[str], *, root_pem: bytes | None = None) -> C2PAReport:
    """The C2PA state of the file at `path` and what its active manifest says.

    `trusted` means the signing chain ends at our root (`root_pem`, default the one under
    `ZOETROPE_DATA_DIR/c2pa`); `valid` means intact and well signed by a chain we do not know,
    and keeps the failure `signingCredential.untrusted`: whoever signed it, it was not this
    installation (where there is no root yet, nothing is). Raises ConfigError where this
    installation's signing files do not lead to its root (`keys.trust_anchor`).
    """
    from c2pa import C2paError, Reader

    path = Path(path)
    trust = _trust_context(root_pem)
    try:
        with open(path, "rb") as stream:
            mime = _read_mime(path)
            reader = Reader.try_create(mime, stream, context=trust)
            if reader is None:
                return C2PAReport(state="not_present")
            with reader:
                manifest = reader.get_active_manifest() or {}
                store = json.loads(reader.json())
                state = (reader.get_validation_state() or "Invalid").lower()
                results = reader.get_validation_results() or {}
    except (C2paError, KeyError, ValueError) as e:  # a damaged store can lack its active manifest
        return C2PAReport(state="invalid", failures=[f"unreadable manifest: {e}"])
    failures = [f["code"] for f in results.get("activeManifest", {}).get("failure", [])]
    if mime == "image/png" and _png_manifest_crc_broken(path):
        failures.append(PNG_MANIFEST_CRC)  # the manifest's bytes changed, though they still parse
        state = "invalid"
    # An unknown signer is not tampering: the manifest is intact, we just cannot vouch for it.
    if state == "invalid" and failures and set(failures) <= {UNTRUSTED}:
        state = "valid"
    actions, generation = _actions(manifest), _data(manifest, GENERATION_ASSERTION)
    signature = manifest.get("signature_info", {})
    parents = [i.get("title") for i in manifest.get("ingredients", []) if i.get("relationship") == "parentOf"]
    generator = next(iter(manifest.get("claim_generator_info") or []), None)
    generator = generator if isinstance(generator, dict) else {}
    deltas = {
        d.get("ingredientAssertionURI", "").rsplit("/", 1)[-1]: d.get("validationDeltas", {})
        for d in results.get("ingredientDeltas", [])
    }
    return C2PAReport(
        state=state,
        issuer=signature.get("issuer"),
        common_name=signature.get("common_name"),
        actions=[str(a.get("action", "")) for a in actions],
        digital_source_type=_text(
            next((a["digitalSourceType"] for a in actions if "digitalSourceType" in a), None)
        ),
        generation_id=_text(generation.get("generation_id")),
        model=_text(generation.get("model")),
        generator=" ".join(str(generator.get(k, "")) for k in ("name", "version")).strip() or None,
        signed_at=_text(signature.get("time") or next((a["when"] for a in actions if a.get("when")), None)),
        parent=_text(parents[0]) if parents else None,
        failures=failures,
        claims_zoetrope=claims_zoetrope(manifest),
        ingredients=_ingredients(manifest, store.get("manifests", {}), deltas),
    )


def claims_zoetrope(manifest: dict) -> bool:
    """Whether a manifest looks like one of ours: the Zoetrope generation assertion, "Zoetrope" in
    its signer's names, claim generator or software agents, or one of this installation's model
    names as its model or a software agent."""
    from zoetrope.config import get_config

    if any(a.get("label") == GENERATION_ASSERTION for a in manifest.get("assertions", [])):
        return True
    signature = manifest.get("signature_info", {})
    names = [signature.get("issuer"), signature.get("common_name"), manifest.get("claim_generator")]
    names += [g.get("name") for g in manifest.get("claim_generator_info") or [] if isinstance(g, dict)]
    for action in _actions(manifest):
        agent = action.get("softwareAgent")
        names.append(agent.get("name") if isinstance(agent, dict) else agent)
    words = " ".join(str(n) for n in names if n).casefold()
    models = {m.name.casefold() for m in get_config().models}
    return "zoetrope" in words or bool(models & set(words.split()))


def _data(manifest: dict, label: str) -> dict:
    """The data of the manifest's assertion `label`, or {} (also where a forger made it no object)."""
    data = next((a.get("data") for a in manifest.get("assertions", []) if a.get("label") == label), None)
    return data if isinstance(data, dict) else {}


def _actions(manifest: dict) -> list[dict]:
    actions = (_data(manifest, "c2pa.actions.v2") or _data(manifest, "c2pa.actions")).get("actions")
    return [a for a in actions if isinstance(a, dict)] if isinstance(actions, list) else []


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _ingredients(
    manifest: dict, manifests: dict, deltas: dict, depth: int = 1, seen: set[str] | None = None
) -> list[IngredientReport]:
    """Every ingredient reachable from `manifest`, each as its record says, depth first, each
    manifest of the store followed once. Direct ingredients' records are brought up to date by the
    reader (`deltas`: it checks their signer against our root again); deeper ones are as recorded
    when their edit was signed."""
    seen = set() if seen is None else seen
    found = []
    for ing in manifest.get("ingredients", []):
        recorded = (ing.get("validation_results") or {}).get("activeManifest", {})
        delta = deltas.get(ing.get("label"), {}) if depth == 1 else {}
        failures = _codes(recorded, delta, kind="failure") | {
            x.get("code") for x in ing.get("validation_status", [])
        }
        trusted = _TRUSTED in _codes(recorded, delta, kind="success") and UNTRUSTED not in _codes(
            delta, kind="failure"
        )
        if trusted:
            failures.discard(UNTRUSTED)
        own = manifests.get(ing.get("active_manifest") or "", {})
        if failures - {UNTRUSTED}:
            state = "invalid"
        elif not ing.get("active_manifest"):
            state = "not_present"
        else:
            state = "trusted" if trusted else "valid"
        found.append(
            IngredientReport(
                title=_text(ing.get("title")),
                relationship=_text(ing.get("relationship")) or "parentOf",
                state=state,
                failures=sorted(f for f in failures if f),
                impersonates=state == "valid" and claims_zoetrope(own),
                depth=depth,
            )
        )
        if own and ing["active_manifest"] not in seen:  # a store may name one manifest twice, or loop
            seen.add(ing["active_manifest"])
            found += _ingredients(own, manifests, {}, depth + 1, seen)
    return found


def _codes(*results: dict, kind: str) -> set[str]:
    """The status codes of one kind (success, failure) in validation results."""
    return {entry.get("code") for result in results for entry in result.get(kind, [])}


def _png_manifest_crc_broken(path: Path) -> bool:
    """Whether a `caBX` chunk (a PNG's C2PA manifest store) fails its own CRC."""
    with open(path, "rb") as f:
        f.seek(8)
        while len(header := f.read(8)) == 8:
            length, kind = struct.unpack(">I4s", header)
            if kind != b"caBX":
                f.seek(length + 4, os.SEEK_CUR)
                continue
            body, crc = f.read(length), f.read(4)
            if len(crc) < 4 or zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
                return True
    return False


def manifest_json(path: str | os.PathLike[str]) -> str:
    """The full manifest store of `path` as JSON text (for `zoetrope verify --manifest`)."""
    from c2pa import Reader

    with Reader(str(path)) as reader:
        return json.dumps(json.loads(reader.json()), indent=2)


__all__ = ["ISSUER", "C2PAReport", "IngredientReport", "read_provenance", "sign_file", "manifest_json"]
