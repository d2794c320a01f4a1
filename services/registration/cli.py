"""Commands of the registration service (flask --app services.registration.wsgi ...)."""

from __future__ import annotations

import click
from flask import Flask

from shared.db import migrate, transaction

# Roles a token from the command line may carry. Door devices are enrolled in check-in, bound to
# one event and gate and revocable there (a token minted here was neither); focal points act for
# the agencies of their account's scopes, delegates through their private links.
TOKEN_ROLES = ("admin", "organizer", "viewer")


def register(app: Flask, factory) -> None:
    """Attach the service's commands to the app."""

    @app.cli.command("db-upgrade")
    def db_upgrade():
        """Apply the registration database migrations."""
        from services.registration.app import MIGRATIONS

        migrate(factory.kw["bind"], MIGRATIONS)
        click.echo("registration database is up to date")

    @app.cli.command("load-demo")
    def load_demo_command():
        """Load the demo event (idempotent)."""
        from services.registration.demo import load_demo

        with transaction(factory) as session:
            event = load_demo(session)
            click.echo(f"demo event loaded: {event.slug} (id {event.id})")

    @app.cli.command("create-token")
    @click.option("--role", type=click.Choice(TOKEN_ROLES), default="organizer")
    @click.option("--label", required=True, help="Who or what the token is for.")
    @click.option("--event", "events", multiple=True, help="Event slug or id (repeatable).")
    def create_token(role, label, events):
        """Issue a bearer API token and print it once."""
        from services.registration.operations import get_event
        from services.registration.tokens import create_api_token

        with transaction(factory) as session:
            event_ids = [get_event(session, ref).id for ref in events] or None
            token = create_api_token(
                session, app.config["SECRET_KEY"], label=label, role=role, event_ids=event_ids
            )
        click.echo(token)

    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--name", default="Administrator")
    @click.password_option(help="At least 10 characters (asked for when not given).")
    def create_admin(email, name, password):
        """Create the first administrator account (log in at /login)."""
        from marshmallow import ValidationError

        from services.registration.operations.accounts import create_account
        from services.registration.schemas import Email
        from shared.problems import DomainError

        context = app.extensions["registration_context"]
        try:
            data = {"email": Email().deserialize(email), "name": name, "role": "admin"}
            with transaction(factory) as session:
                account = create_account(session, context, data | {"password": password})
                click.echo(f"admin account {account.email} created (id {account.id})")
        except DomainError as error:
            raise click.ClickException(error.code) from None
        except ValidationError as error:
            raise click.ClickException(" ".join(error.messages)) from None

    @app.cli.command("roster-snapshot")
    @click.argument("event")
    def roster_snapshot_command(event):
        """Print an event's delegate snapshot as JSON (pipe it to check-in's rebuild-roster)."""
        import json

        from services.registration.operations import get_event
        from services.registration.operations.snapshot import roster_snapshot

        context = app.extensions["registration_context"]
        with factory() as session:
            snapshot = roster_snapshot(session, context, get_event(session, event))
        click.echo(json.dumps(snapshot, ensure_ascii=False))

    @app.cli.command("revoke-token")
    @click.argument("token_id")
    def revoke_token(token_id):
        """Revoke a bearer API token by id."""
        from services.registration.tokens import revoke_api_token

        with transaction(factory) as session:
            found = revoke_api_token(session, token_id)
        click.echo("revoked" if found else "no such token")
