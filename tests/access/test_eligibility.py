"""Every eligibility rule: excluded plans, minimum age, regions with dated roll-outs, channel regions."""

from datetime import date

import pytest

from zoetrope.access.eligibility import age_on, check_eligibility, opening_date
from zoetrope.config import load_config
from zoetrope.errors import NotEligible

CFG = load_config()
ADULT = date(1990, 1, 1)


def refusal(
    plan: str, country: str = "US", birth: date = ADULT, today: date = date(2025, 6, 1)
) -> NotEligible:
    with pytest.raises(NotEligible) as e:
        check_eligibility(CFG, CFG.plan(plan), country, birth, today)
    assert e.value.status == 403
    return e.value


def allowed(plan: str, country: str = "US", birth: date = ADULT, today: date = date(2025, 6, 1)) -> None:
    check_eligibility(CFG, CFG.plan(plan), country, birth, today)


@pytest.mark.parametrize("plan", ["enterprise", "edu"])
def test_enterprise_and_edu_plans_are_excluded_and_told_which_plans_have_video(plan):
    e = refusal(plan)
    assert e.code == "plan_excluded" and plan in e.message
    assert "plus" in e.message and "pro" in e.message


@pytest.mark.parametrize("plan", ["plus", "pro", "team"])
def test_paid_plans_are_eligible_in_the_us_after_launch(plan):
    allowed(plan)


def test_under_18_is_refused_with_the_date_they_become_eligible():
    e = refusal("pro", birth=date(2008, 7, 15), today=date(2025, 6, 1))
    assert e.code == "age_restricted" and "18" in e.message and "2026-07-15" in e.message


def test_eighteenth_birthday_is_eligible_and_the_day_before_is_not():
    refusal("plus", birth=date(2007, 6, 1), today=date(2025, 5, 31))
    allowed("plus", birth=date(2007, 6, 1), today=date(2025, 6, 1))


def test_age_counts_completed_years_and_leap_day_births():
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18
    assert "2018-03-01" in refusal("plus", birth=date(2000, 2, 29), today=date(2018, 2, 28)).message


def test_nobody_is_eligible_before_the_launch_date():
    e = refusal("plus", country="US", today=date(2024, 12, 8))
    assert e.code == "region_unavailable" and "2024-12-09" in e.message
    allowed("plus", country="US", today=date(2024, 12, 9))


def test_gb_opens_on_2025_02_28_refused_in_january_allowed_in_march():
    e = refusal("plus", country="GB", today=date(2025, 1, 15))
    assert e.code == "region_unavailable" and "GB" in e.message and "2025-02-28" in e.message
    allowed("plus", country="GB", today=date(2025, 3, 1))


@pytest.mark.parametrize("country", ["CH", "FR", "DE", "IE", "NO", "IS", "LI"])
def test_switzerland_and_the_eea_open_late_too(country):
    assert refusal("pro", country=country, today=date(2025, 2, 27)).code == "region_unavailable"
    allowed("pro", country=country, today=date(2025, 2, 28))


def test_country_codes_are_case_insensitive_and_other_regions_open_at_launch():
    assert opening_date(CFG, CFG.plan("plus"), "gb") == date(2025, 2, 28)
    allowed("plus", country="JP", today=date(2024, 12, 10))


@pytest.mark.parametrize("country", ["CN", "RU"])
def test_bing_channel_excludes_china_and_russia_at_any_date(country):
    e = refusal("bing-free", country=country, today=date(2030, 1, 1))
    assert e.code == "region_unavailable" and "bing" in e.message and country in e.message


def test_bing_channel_opens_on_its_own_date_everywhere_else_including_gb():
    assert refusal("bing-free", country="US", today=date(2025, 6, 1)).code == "region_unavailable"
    allowed("bing-free", country="GB", today=date(2025, 6, 2))


def test_bing_channel_still_requires_adults():
    assert refusal("bing-free", birth=date(2010, 1, 1), today=date(2025, 7, 1)).code == "age_restricted"


def test_excluded_plan_is_reported_before_age_and_region():
    assert (
        refusal("edu", country="GB", birth=date(2015, 1, 1), today=date(2025, 1, 1)).code == "plan_excluded"
    )


def test_rules_are_configuration(tmp_path):
    text = load_config.__globals__["resources"].files("zoetrope.config").joinpath("defaults.toml").read_text()
    text = text.replace("minimum_age = 18", "minimum_age = 21").replace(
        '"GB" = "2025-02-28"', '"GB" = "2026-01-01"'
    )
    path = tmp_path / "z.toml"
    path.write_text(text)
    cfg = load_config(path)
    with pytest.raises(NotEligible, match="21"):
        check_eligibility(cfg, cfg.plan("plus"), "US", date(2005, 1, 1), date(2025, 6, 1))
    with pytest.raises(NotEligible, match="2026-01-01"):
        check_eligibility(cfg, cfg.plan("plus"), "GB", ADULT, date(2025, 6, 1))


@pytest.mark.parametrize("country", ["ZZ", "UK", "EU", "U5", "usa"])
def test_an_account_country_that_no_region_rule_could_name_is_refused(sqlite_engine, country):
    """Region rules and prices name ISO codes: an account in 'ZZ' (unassigned) or 'UK' (not the
    code: GB) would be open everywhere a late or excluded region should wait."""
    from zoetrope.access.accounts import create_account, update_account
    from zoetrope.db import transaction
    from zoetrope.errors import InvalidRequest

    with transaction(sqlite_engine) as s:
        with pytest.raises(InvalidRequest) as made:
            create_account(s, "ada", country=country)
        account = create_account(s, "bea", country="gb")
        with pytest.raises(InvalidRequest) as changed:
            update_account(s, account.id, country=country)
        assert account.country == "GB"
    assert made.value.param == changed.value.param == "country"
    assert ("'GB'" in made.value.message) == (country == "UK")
