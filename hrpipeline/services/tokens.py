"""Personal API tokens: issue (the secret is shown once), list, revoke, authenticate.

Only the SHA-256 digest of a secret is stored (``ApiToken.token_hash``), so a database leak
does not leak usable tokens. A revoked token stays in the table (for the audit trail) and
never authenticates again.
"""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select, update

from hrpipeline.access import can
from hrpipeline.audit import audit
from hrpipeline.errors import NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import ApiToken, User, utcnow

MAX_NAME = 80
#: Live tokens per user: a bound, so a script stuck in a loop cannot fill the table.
MAX_ACTIVE_TOKENS = 50


def issue_token(user: User, name: str, *, actor: User | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it and its secret (the only time it is readable)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"A token needs a name of 1 to {MAX_NAME} characters.",
                               problems=[{"column": "name", "value": name[:100],
                                          "message": f"1 to {MAX_NAME} characters"}])
    active = db.session.scalar(
        select(db.func.count(ApiToken.id)).where(ApiToken.user_id == user.id,
                                                 ApiToken.revoked_at.is_(None)))
    if active >= MAX_ACTIVE_TOKENS:
        raise ValidationFailed(f"You already have {active} active tokens; revoke unused ones "
                               "first.")
    token, secret = ApiToken.issue(user, name)
    db.session.add(token)
    db.session.flush()
    audit("token_created", user=actor if actor is not None else user, token_id=token.id,
           token_name=name, prefix=token.prefix, owner=user.username)
    db.session.commit()
    return token, secret


def list_tokens(user: User, *, everyone: bool = False) -> list[ApiToken]:
    """The user's tokens, newest first (an admin may ask for every user's)."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if not (everyone and can(user, "administer")):
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query))


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (admins: anyone's). Others' tokens are 404, not 403,
    so ids of other users' tokens are not confirmed. Revoking twice is harmless."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not can(user, "administer")):
        raise NotFound(f"No token {token_id} among your tokens.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit("token_revoked", user=user, token_id=token.id, token_name=token.name,
               prefix=token.prefix, owner=token.user.username)
        db.session.commit()
    return token


def authenticate(secret: str) -> User | None:
    """The active user owning this live token, or ``None``: the one token authenticator
    (only the API accepts tokens; HTML pages are session-only).

    Records the last use with one write policy: at most once per
    ``TOKEN_LAST_USED_SECONDS`` per token, as a conditional UPDATE, so that a busy script
    does not turn every read into a write (on SQLite: ``database is locked``).
    """
    if not secret or not secret.startswith("hrp_") or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    touch(token)
    return token.user


def touch(token: ApiToken) -> bool:
    """Set ``last_used_at`` unless it was set less than TOKEN_LAST_USED_SECONDS ago."""
    now = utcnow()
    every = dt.timedelta(seconds=current_app.config["TOKEN_LAST_USED_SECONDS"])
    if token.last_used_at is not None and now - token.last_used_at < every:
        return False
    done = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id,
               (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at <= now - every))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return done == 1


# --- command line -------------------------------------------------------------------------
@click.command("token-create")
@click.argument("username")
@click.argument("name")
@with_appcontext
def token_create_command(username: str, name: str) -> None:
    """Create an API token for USERNAME; the secret is printed once and never again."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"No user {username!r}.")
    from hrpipeline.services.scope import OPERATOR

    token, secret = issue_token(user, name, actor=OPERATOR)
    click.echo(f"Token {token.id} ({token.name}) for {user.username}:")
    click.echo(secret)
    click.echo("Store it now: it cannot be shown again.", err=True)


@click.command("token-revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke_command(token_id: int) -> None:
    """Revoke the API token with this id."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"No token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit("token_revoked", token_id=token.id, token_name=token.name,
               prefix=token.prefix, owner=token.user.username)
        db.session.commit()
    click.echo(f"Token {token_id} revoked.")


#: For ``cli.init_app``: ``for c in token_commands: app.cli.add_command(c)``.
token_commands = [token_create_command, token_revoke_command]
