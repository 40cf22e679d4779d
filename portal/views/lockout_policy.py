"""The admin's policy page: the lockout policy in force, and a replay under a candidate."""

from flask import Blueprint
from flask import current_app
from flask import make_response
from flask import request

from portal.config import SETTINGS
from portal.history import queries
from portal.security import candidates
from portal.security import replay
from portal.security.policy import Policy
from portal.sessions.current_user import admin_required
from portal.web.htmx import render_page_or_partial

bp = Blueprint("policy", __name__, url_prefix="/admin")

# A page waits for its replay: past this many attempts it stops and says where (the CLI
# replays any range).
PAGE_LIMIT = 300_000


@bp.get("/policy")
@admin_required
def policy_page():
    """Show the policy in force; with `replay` in the query, replay it against the form's."""
    in_force = candidates.in_force(current_app.config)
    rules = Policy.from_config(current_app.config)
    form = {name: request.args.get(name, candidates.shown(value))
            for name, value in in_force.items()}
    until_text = request.args.get("until", "")
    since_text = request.args.get("since", "")
    comparison, bad_setting, bad_field, changes = None, None, None, {}
    if "replay" in request.args:
        changes = {name: form[name] for name in in_force
                   if form[name].strip() != candidates.shown(in_force[name])}
        try:
            _, candidate = candidates.changed(current_app.config, changes)
            since, until = replay.period(since_text, until_text)
            comparison = replay.compare(rules, candidate, since, until, limit=PAGE_LIMIT)
        except candidates.BadCandidate as bad:
            bad_setting = bad
        except queries.BadFilter as bad:
            bad_field = bad.field
    page = render_page_or_partial(
        "admin/policy.html", "partials/admin/_policy_replay.html",
        rules=rules, in_force=in_force, settings=SETTINGS,
        form=form, since=since_text, until=until_text, comparison=comparison, changes=changes,
        bad_setting=bad_setting, bad_field=bad_field, limit=PAGE_LIMIT,
        default_days=replay.DEFAULT_DAYS)
    return make_response(page, 400 if bad_setting or bad_field else 200)
