"""Domain errors. They carry data, never HTTP status codes; ``ribat.web.errors`` maps them once.

Hierarchy::

    RibatError
     ├── InputError                      something the caller sent is wrong
     │    ├── ValidationError            a field or value fails validation (field, reason)
     │    │    └── ModelFileError        a maturity model file is invalid (file, line, field, reason)
     │    ├── StixValidationError        one STIX object is invalid (object_id, reason)
     │    ├── EnvelopeError              the body is not a STIX envelope/bundle (reason)
     │    ├── BadPageTokenError          a TAXII ``next`` token is forged, stale or for another query
     │    └── TooLargeError              a body exceeds a limit (size, limit)
     ├── NotFoundError                   (kind, key)
     ├── ConflictError                   a unique thing already exists (kind, key)
     │    └── StateError                 the thing is in a state that forbids the action (kind, key, state, action)
     ├── AuthenticationError             no, wrong, expired or revoked credentials (reason)
     │    └── RateLimitedError           too many failed attempts (retry_after)
     └── PermissionDeniedError           authenticated, but not allowed (action, target)
          └── TlpViolationError          TLP forbids this viewer this object (object_id, required, actual)
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadPageTokenError",
    "ConflictError",
    "EnvelopeError",
    "InputError",
    "ModelFileError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RibatError",
    "StateError",
    "StixValidationError",
    "TlpViolationError",
    "TooLargeError",
    "ValidationError",
]


class RibatError(Exception):
    """Base of every domain error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(RibatError):
    pass


class ValidationError(InputError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ModelFileError(ValidationError):
    """A maturity model file is invalid; the message reads ``file:line: field: reason``."""

    def __init__(self, file: str, line: int | None, field: str, reason: str) -> None:
        super().__init__(field, reason)
        where = f"{file}:{line}" if line is not None else file
        self.message = f"{where}: {field}: {reason}" if field else f"{where}: {reason}"
        self.args = (self.message,)
        self.file = file
        self.line = line


class StixValidationError(InputError):
    def __init__(self, object_id: str | None, reason: str) -> None:
        super().__init__(f"{object_id or '<no id>'}: {reason}")
        self.object_id = object_id
        self.reason = reason


class EnvelopeError(InputError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadPageTokenError(InputError):
    def __init__(self, reason: str = "the next token is not valid for this request") -> None:
        super().__init__(reason)


class TooLargeError(InputError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"body of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class NotFoundError(RibatError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class ConflictError(RibatError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} already exists")
        self.kind = kind
        self.key = key


class StateError(ConflictError):
    """``kind`` ``key`` is ``state``, which forbids ``action`` (a final assessment cannot be changed)."""

    def __init__(self, kind: str, key: str, state: str, action: str) -> None:
        RibatError.__init__(self, f"{kind} {key!r} is {state}: cannot {action}")
        self.kind = kind
        self.key = key
        self.state = state
        self.action = action


class AuthenticationError(RibatError):
    def __init__(self, reason: str = "authentication required") -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimitedError(AuthenticationError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; retry after {retry_after} s")
        self.retry_after = retry_after


class PermissionDeniedError(RibatError):
    def __init__(self, action: str, target: str) -> None:
        super().__init__(f"not allowed to {action} {target}")
        self.action = action
        self.target = target


class TlpViolationError(PermissionDeniedError):
    def __init__(self, object_id: str, required: str, actual: str) -> None:
        RibatError.__init__(self, f"TLP forbids {object_id}: needs {required}, viewer is {actual}")
        self.action = "read"
        self.target = object_id
        self.object_id = object_id
        self.required = required
        self.actual = actual
