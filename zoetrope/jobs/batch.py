"""A request of several jobs (`n` images) queued as one: all of them, or on any refusal none; and the
record by which its Idempotency-Key answers the same request again."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from zoetrope.access.keys import Principal
from zoetrope.backends.registry import Registry
from zoetrope.db import transaction
from zoetrope.errors import Conflict
from zoetrope.jobs import store
from zoetrope.jobs.enqueue import Ready, Submitted, Submitter, queue
from zoetrope.jobs.request import VideoRequest, check_idempotency_key, part_key, whole_fingerprint
from zoetrope.jobs.submit import prepare
from zoetrope.storage import BlobStore

# The job id in the record of a whole request of several jobs (`submit_all`): no job has it. Written
# "images", as the images route wrote it before the record moved here.
WHOLE_REQUEST = "images"


def submit_all(
    engine: Engine,
    registry: Registry,
    blobs: BlobStore,
    principal: Principal,
    reqs: list[VideoRequest],
    *,
    idempotency_key: str | None = None,
) -> list[Submitted]:
    """The jobs of `reqs` (`n` images) queued as one request, in one transaction: all of them, or on
    any refusal none, so no other request ever answers with a job this one withdrew. An
    `idempotency_key` covers them all, their number included: the same requests again answer the
    jobs the first made (job i remembered under `part_key(key, i)`), others are a 409."""
    check_idempotency_key(idempotency_key)  # the client's key, before job i's are made of it
    sub = Submitter(engine, registry, blobs, principal)
    key, account, whole = idempotency_key, principal.account_id, whole_fingerprint(reqs)
    if key:  # another body (or number of jobs) under this key: a 409, before anything is done
        with transaction(engine) as s:
            _covers(s, account, key, whole, len(reqs))
    done = [
        prepare(sub, req, idempotency_key=part_key(key, i) if key else None) for i, req in enumerate(reqs)
    ]
    ready = [d for d in done if isinstance(d, Ready)]
    if not ready:  # every job made by an earlier request with this key
        return [d for d in done if isinstance(d, Submitted)]

    def cover(s: Session) -> None:  # the whole request's record: written with its jobs, or not at all
        if key and not _covers(s, account, key, whole, len(reqs)):
            store.remember_idempotent(s, account, key, whole, WHOLE_REQUEST)

    written = iter(queue(sub, ready, keyed=bool(key), first=cover))
    return [next(written) if isinstance(d, Ready) else d for d in done]


def _covers(s: Session, account_id: str, key: str, whole: str, n: int) -> bool:
    """Whether `key` already names this request of `n` jobs (`whole`, their fingerprint); a 409
    Conflict when it names another. A key used before it covered the number of jobs has only each
    job's record (`key:i`, none of the whole): it names this request only with exactly n of them,
    each checked against its job's request when that is looked up."""
    parts = [part_key(key, i) for i in range(n + 1)]  # one more: a record past the n says "more"
    found = store.remembered(s, account_id, [key, *parts])
    if key in found:
        if found[key] != whole:
            raise Conflict(
                "this Idempotency-Key was already used with a different request body",
                param="Idempotency-Key",
                code="idempotency_key_reused",
            )
        return True
    made = [k for k in parts if k in found]
    if made and made != parts[:n]:
        raise Conflict(
            f"this Idempotency-Key was already used for {'more' if parts[n] in found else 'fewer'} "
            f"images than {n}; send the request it was used for, or a new key",
            param="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return bool(made)
