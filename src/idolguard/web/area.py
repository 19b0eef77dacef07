"""The web area: the team's web app (accounts, triage, review, intake jobs, REST API) and its commands."""

from idolguard.area import Area, People

AREA = Area(
    name="web",
    description="team web app: accounts, roles, blurred review, triage, intake jobs, REST API (KO/EN)",
    commands=("idolguard.web.cli:register",),
    models=("idolguard.web.models",),
    settings=("idolguard.web.settings:WebSettings",),
    item_hooks=("idolguard.web.triage:sync_reviews",),  # items scanned anywhere reach the triage queue
    init_hooks=("idolguard.web.accounts:first_admin_at_init",),
    people=People(has_accounts="idolguard.web.users:has_accounts", lookup="idolguard.web.users:lookup"),
)
