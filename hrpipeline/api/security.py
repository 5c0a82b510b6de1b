"""Who may call an API endpoint: authentication (token or session), capability, CSRF policy.

The roles behind each capability come from :mod:`hrpipeline.access` (the one table the web
pages and the services read too).

- ``Authorization: Bearer hrp_...`` authenticates with a personal token. When the header is
  present it is the only credential considered: a bad or revoked token is a 401 even if the
  same browser also holds a session cookie.
- Without the header, the browser session (cookie) is accepted for **reads** only. A cookie is
  sent by the browser on cross-site requests too, so a state-changing call authenticated by a
  cookie could be forged (CSRF). The API blueprint is exempt from Flask-WTF's form CSRF check,
  so it refuses cookie authentication for writes, except token management (``POST /tokens``
  needs a session; ``DELETE /tokens/<id>`` accepts it) which then requires the
  ``X-CSRFToken`` header (a cross-site form cannot set headers).
- A token cannot create tokens: a leaked token must not be able to outlive its revocation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from hrpipeline.access import can, roles_for
from hrpipeline.errors import DomainError, Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Unauthenticated(DomainError):
    status, code, title = 401, "unauthenticated", "Authentication required"


def _token_user():
    from hrpipeline.services.tokens import authenticate

    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("Use 'Authorization: Bearer <token>'.")
    user = authenticate(secret.strip())
    if user is None:
        raise Unauthenticated("The token is unknown, revoked, or its user is deactivated.")
    # flask-login reads the request's user from g: later code (audit, templates) sees it,
    # and the session is left untouched (no login cookie for token calls).
    g._login_user = user
    return user


def current_api_user():
    """The user authenticated for this API request (after :func:`allow` ran)."""
    return g.api_user


def allow(capability: str, *, session_writes: bool = False, token_writes: bool = True) -> Callable:
    """Declare the capability an endpoint needs (admins are always allowed).

    ``session_writes``: a cookie session may call this state-changing endpoint (with the
    CSRF header). ``token_writes``: a token may call it.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if "Authorization" in request.headers:
                user, via = _token_user(), "token"
            else:
                if not current_user.is_authenticated or session.get("_user_id") is None:
                    raise Unauthenticated("Log in, or send 'Authorization: Bearer <token>'.")
                user, via = current_user._get_current_object(), "session"
            if not can(user, capability):
                raise Forbidden("Your role may not use this endpoint.")
            if request.method not in SAFE_METHODS:
                if via == "session" and not session_writes:
                    raise Forbidden("State-changing API calls need a token "
                                    "('Authorization: Bearer <token>'), not a browser session.")
                if via == "session":
                    _check_csrf_header()
                if via == "token" and not token_writes:
                    raise Forbidden("A token cannot do this; log in with a browser session.")
            g.api_user, g.api_auth = user, via
            return view(*args, **kwargs)

        wrapped.capability = capability
        wrapped.allowed_roles = roles_for(capability)
        wrapped.session_writes = session_writes
        wrapped.token_writes = token_writes
        return wrapped

    return decorator


def _check_csrf_header() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token"))
    except (ValidationError, CSRFError) as err:
        raise Forbidden("Missing or invalid X-CSRFToken header for a session-authenticated "
                        f"call: {err}") from None
