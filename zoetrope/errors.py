"""The domain's exception hierarchy. The API and the CLI each map it to output in one place."""

from __future__ import annotations


def shown(value: str) -> str:
    """A caller's `value` quoted for an error message, cut short where it is long: an answer names
    what it refuses without sending a 50 KB cursor back twice."""
    return repr(value) if len(value) <= 40 else f"{value[:40]!r}..."


class ZoetropeError(Exception):
    """Base of every error Zoetrope raises on purpose.

    `code` is a stable machine-readable string, `param` names the offending input field when
    there is one, and `status` is the HTTP status the API answers with.
    """

    status: int = 400
    code: str = "invalid_request"
    type: str = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InvalidRequest(ZoetropeError):
    """A request's field is missing, malformed or out of range."""


class InvalidMedia(ZoetropeError):
    """An uploaded or read file is not usable media (corrupt, empty, too large, wrong kind)."""

    code = "invalid_media"


class ConfigError(ZoetropeError):
    """The configuration file or environment holds an invalid value."""

    code = "invalid_config"
    status = 500
    type = "server_error"  # the operator's to fix, not the caller's


class NotFound(ZoetropeError):
    status = 404
    code = "not_found"


class AuthenticationFailed(ZoetropeError):
    status = 401
    code = "invalid_api_key"
    type = "authentication_error"


class PermissionDenied(ZoetropeError):
    status = 403
    code = "permission_denied"
    type = "permission_error"


class NotEligible(PermissionDenied):
    """The account may not use video generation (plan, age, region)."""

    code = "not_eligible"


class EntitlementExceeded(PermissionDenied):
    """The request asks for more than the account's plan allows."""

    code = "entitlement_exceeded"


class QuotaExceeded(ZoetropeError):
    status = 429
    code = "quota_exceeded"
    type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after: int | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class InsufficientCredits(ZoetropeError):
    status = 402
    code = "insufficient_credits"
    type = "insufficient_quota"


class ModerationBlocked(ZoetropeError):
    code = "moderation_blocked"

    def __init__(self, message: str, *, category: str, **kw) -> None:
        super().__init__(message, **kw)
        self.category = category


class OutputBlocked(ZoetropeError):
    code = "output_blocked"


class UnsupportedByBackend(InvalidRequest):
    """The chosen model cannot do what was asked (size, duration, task)."""

    code = "unsupported"


class Conflict(ZoetropeError):
    status = 409
    code = "conflict"


class ModelUnavailable(ZoetropeError):
    """A backend's weights or dependencies are missing on this machine."""

    status = 503
    code = "model_unavailable"
    type = "server_error"


class StorageUnavailable(ZoetropeError):
    """The blob store cannot be reached or written for now (S3 away, disk full): retry later."""

    status = 503
    code = "service_unavailable"
    type = "server_error"

    def __init__(self, message: str, *, retry_after: int = 5, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
