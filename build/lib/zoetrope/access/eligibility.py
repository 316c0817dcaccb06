"""Who may use video generation at all: age, region (with dated roll-outs) and plan type.

Pure: values in, a refusal (`NotEligible` with a code) out. The clock is a parameter.
"""

from __future__ import annotations

from datetime import date

from zoetrope.config import Config, Plan
from zoetrope.errors import NotEligible


def age_on(birth_date: date, today: date) -> int:
    """Completed years between `birth_date` and `today`."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def adult_from(birth_date: date, minimum_age: int) -> date:
    """The day someone born on `birth_date` turns `minimum_age` (29 Feb births: 1 March)."""
    try:
        return birth_date.replace(year=birth_date.year + minimum_age)
    except ValueError:
        return date(birth_date.year + minimum_age, 3, 1)


def expand_countries(codes: list[str] | dict[str, date], groups: dict[str, list[str]]) -> dict[str, str]:
    """Map each ISO code to the entry that names it: itself, or the group it belongs to."""
    out: dict[str, str] = {}
    for code in codes:
        for member in groups.get(code, [code]):
            out[member.upper()] = code
    return out


def opening_date(config: Config, plan: Plan, country: str) -> date:
    """The day video opens for `country` on `plan` (its channel's launch or a late region's date)."""
    launch = plan.launch_date or config.eligibility.launch_date
    late = plan.late_regions if plan.late_regions is not None else config.eligibility.late_regions
    entry = expand_countries(late, config.eligibility.groups).get(country.upper())
    return late[entry] if entry is not None else launch


def check_plan_type(config: Config, plan: Plan) -> None:
    """Refuse plan types excluded from video (enterprise, edu), naming the plans that have it."""
    if plan.excluded or plan.name in config.eligibility.excluded_plans:
        allowed = [
            p.name
            for p in config.plans.values()
            if p.video
            and not p.excluded
            and p.name not in config.eligibility.excluded_plans
            and not p.channel
        ]
        raise NotEligible(
            f"{plan.name} plans have no video access; an account on {' or '.join(allowed)} can generate video",
            code="plan_excluded",
            param="plan",
        )


def check_age(config: Config, birth_date: date, today: date) -> None:
    minimum = config.eligibility.minimum_age
    if age_on(birth_date, today) < minimum:
        raise NotEligible(
            f"video generation requires age {minimum} or older; this account is eligible from "
            f"{adult_from(birth_date, minimum).isoformat()}",
            code="age_restricted",
            param="birth_date",
        )


def check_region(config: Config, plan: Plan, country: str, today: date) -> None:
    country = country.upper()
    channel = f"the {plan.channel} channel" if plan.channel else "Zoetrope video"
    excluded = expand_countries(plan.excluded_countries, config.eligibility.groups)
    if country in excluded:
        raise NotEligible(
            f"{channel} is not available in {country}",
            code="region_unavailable",
            param="country",
        )
    opens = opening_date(config, plan, country)
    if today < opens:
        raise NotEligible(
            f"{channel} is not yet available in {country}; it opens there on {opens.isoformat()}",
            code="region_unavailable",
            param="country",
        )


def check_eligibility(config: Config, plan: Plan, country: str, birth_date: date, today: date) -> None:
    """Raise NotEligible (plan_excluded, age_restricted, region_unavailable) or return None."""
    check_plan_type(config, plan)
    check_age(config, birth_date, today)
    check_region(config, plan, country, today)
