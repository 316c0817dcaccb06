"""C2PA content credentials: sign every MP4 and PNG Zoetrope writes, and read them back.

A manifest says the file was made by a trained model (`c2pa.created` with digitalSourceType
trainedAlgorithmicMedia), names the model and the generation id, and for edits (extend, remix)
records `c2pa.opened` + `c2pa.edited` with the parent file as its ingredient.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from zoetrope.errors import InvalidMedia
from zoetrope.media.sources import sniff
from zoetrope.safety.keys import ISSUER, SigningIdentity, signing_identity
from zoetrope.settings import get_settings

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATION_ASSERTION = "org.zoetrope.generation"
_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".png": "image/png",
         ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}  # fmt: skip


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

    @property
    def valid(self) -> bool:
        return self.state in ("valid", "trusted")

    @property
    def impersonates(self) -> bool:
        """The manifest names a Zoetrope generation, but a certificate outside this installation's
        root signed it: a claim anyone could have made, never one of our records."""
        return bool(self.generation_id) and self.state == "valid" and UNTRUSTED in self.failures

    def to_json(self) -> dict:
        return {"valid": self.valid, "impersonates": self.impersonates, **asdict(self)}


UNTRUSTED = "signingCredential.untrusted"
_SNIFFED = {"mp4": "video/mp4", "png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def _mime(path: Path) -> str:
    try:
        return _MIME[path.suffix.lower()]
    except KeyError:
        raise InvalidMedia(f"{path.name}: C2PA signing supports {', '.join(sorted(_MIME))}") from None


def _read_mime(path: Path) -> str:
    """The media type of a file to read: from its name, else from its first bytes (a video saved
    under another name is still read)."""
    if path.suffix.lower() in _MIME:
        return _MIME[path.suffix.lower()]
    with open(path, "rb") as f:
        kind = sniff(f.read(16))
    if kind is None:
        raise InvalidMedia(f"{path.name} is not an MP4, PNG, JPEG or WebP file", param="file")
    return _SNIFFED[kind]


def _manifest(path: Path, generation_id: str, model: str, actions: list[str], parent: Path | None) -> dict:
    from zoetrope import __version__

    entries: list[dict] = []
    # When it was made, in the action's own `when` (the signature carries a time only when a
    # timestamp authority countersigns, which an offline signer has none of).
    when = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    for action in actions:
        entry: dict = {"action": action, "softwareAgent": {"name": f"Zoetrope {model}"}, "when": when}
        if action == "c2pa.created":
            entry["digitalSourceType"] = TRAINED_ALGORITHMIC_MEDIA
        entry["parameters"] = {GENERATION_ASSERTION + ".id": generation_id}
        entries.append(entry)
    if parent is not None and "c2pa.opened" not in actions:
        entries.insert(0, {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}})
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
    identity: SigningIdentity | None = None,
) -> Path:
    """Embed a signed C2PA manifest in the MP4 or PNG at `path`, in place, and return the path.

    `actions` default to `["c2pa.created"]`, or `["c2pa.edited"]` when a `parent` file is given
    (which then becomes the manifest's parent ingredient). The file is replaced atomically: a
    reader sees the unsigned or the signed file, never half of one.
    """
    from c2pa import Builder, C2paSignerInfo, C2paSigningAlg, Context, Signer

    path = Path(path)
    mime = _mime(path)
    parent_path = Path(parent) if parent is not None else None
    actions = actions or (["c2pa.edited"] if parent_path else ["c2pa.created"])
    identity = identity or signing_identity()
    info = C2paSignerInfo(C2paSigningAlg.ES256, identity.chain_pem, identity.key_pem, None)
    # No thumbnail: it would copy a frame into the manifest, and for PNG double the file.
    context = Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with Signer.from_info(info) as signer, Builder(_manifest(path, generation_id, model, actions, parent_path), context=context) as builder:  # fmt: skip
        if parent_path is not None:
            ingredient = {"title": parent_path.name, "relationship": "parentOf", "label": "parent"}
            with open(parent_path, "rb") as src:
                builder.add_ingredient(ingredient, _mime(parent_path), src)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
        os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))  # the signed file keeps the file's mode, not 0600
        try:
            with open(path, "rb") as src, os.fdopen(fd, "w+b") as dst:
                builder.sign(signer, mime, src, dst)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


def _trust_context(root_pem: bytes | None):  # -> c2pa.Context
    from c2pa import Context

    if root_pem is None:
        root = get_settings().data_dir / "c2pa" / "root.pem"
        root_pem = root.read_bytes() if root.exists() else None
    if root_pem is None:
        return None
    return Context.from_dict(
        {"verify": {"verify_trust": True}, "trust": {"trust_anchors": root_pem.decode()}}
    )


def read_provenance(path: str | os.PathLike[str], *, root_pem: bytes | None = None) -> C2PAReport:
    """The C2PA state of the file at `path` and what its active manifest says.

    `trusted` means the signing chain ends at our root (`root_pem`, default the one under
    `ZOETROPE_DATA_DIR/c2pa`); `valid` means intact and well signed by a chain we do not know.
    Where there is a root to check against, a `valid` report keeps the failure
    `signingCredential.untrusted`: whoever signed it, it was not this installation.
    """
    from c2pa import C2paError, Reader

    path = Path(path)
    trust = _trust_context(root_pem)
    try:
        with open(path, "rb") as stream:
            reader = Reader.try_create(_read_mime(path), stream, context=trust)
            if reader is None:
                return C2PAReport(state="not_present")
            with reader:
                manifest = reader.get_active_manifest() or {}
                state = (reader.get_validation_state() or "Invalid").lower()
                results = reader.get_validation_results() or {}
    except (C2paError, KeyError, ValueError) as e:  # a damaged store can lack its active manifest
        return C2PAReport(state="invalid", failures=[f"unreadable manifest: {e}"])
    failures = [f["code"] for f in results.get("activeManifest", {}).get("failure", [])]
    # An unknown signer is not tampering: the manifest is intact, we just cannot vouch for it.
    if state == "invalid" and failures and set(failures) <= {UNTRUSTED}:
        state = "valid"
    if trust is None:  # nothing to check the signer against: say nothing of it
        failures = [f for f in failures if f != UNTRUSTED]
    assertions = {a["label"]: a.get("data", {}) for a in manifest.get("assertions", [])}
    actions = assertions.get("c2pa.actions.v2", assertions.get("c2pa.actions", {})).get("actions", [])
    generation = assertions.get(GENERATION_ASSERTION, {})
    signature = manifest.get("signature_info", {})
    parents = [i.get("title") for i in manifest.get("ingredients", []) if i.get("relationship") == "parentOf"]
    generator = (manifest.get("claim_generator_info") or [{}])[0]
    return C2PAReport(
        state=state,
        issuer=signature.get("issuer"),
        common_name=signature.get("common_name"),
        actions=[a.get("action", "") for a in actions],
        digital_source_type=next((a["digitalSourceType"] for a in actions if "digitalSourceType" in a), None),
        generation_id=generation.get("generation_id"),
        model=generation.get("model"),
        generator=" ".join(str(generator.get(k, "")) for k in ("name", "version")).strip() or None,
        signed_at=signature.get("time") or next((a["when"] for a in actions if a.get("when")), None),
        parent=parents[0] if parents else None,
        failures=failures,
    )


def manifest_json(path: str | os.PathLike[str]) -> str:
    """The full manifest store of `path` as JSON text (for `zoetrope verify --manifest`)."""
    from c2pa import Reader

    with Reader(str(path)) as reader:
        return json.dumps(json.loads(reader.json()), indent=2)


__all__ = ["ISSUER", "C2PAReport", "read_provenance", "sign_file", "manifest_json"]
