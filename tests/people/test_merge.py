"""Merging two records of one person keeps everything of both, on the record kept, and can be
undone; only supervisors merge, within their scope; every step is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.audit.models import AuditEntry
from casework.cases.models import Case, CaseMember
from casework.extensions import db
from casework.people.merge import MergeError, merge_people, undo_merge
from casework.people.merge_models import DuplicatePair, PairStatus, PersonMerge
from casework.people.models import Household, HouseholdMember, IdentityDocument, Person
from casework.people.operations import create_household
from casework.people.queries import PeopleFilter, search_people
from casework.reports import reach
from casework.services.models import AssistanceRecord, Consent, PersonEvent, Referral
from tests.conftest import api_token, sign_in
from tests.factories import World, make_person, user_by_key

BORN = date(1988, 3, 4)


@dataclass
class Twins:
    """Mohamed (kept) and Muhammad (merged) Diallo, one man registered twice in Rabat, each
    record with its own files, referrals, consents, assistance, events and documents."""

    kept: int
    merged: int
    pair: int
    rows: dict[str, dict[str, set[int]]]  # person -> table -> ids


def _case(reference: str, applicant: Person, office_id: int) -> Case:
    case = Case(
        reference=reference,
        kind="regularisation",
        operation_code="REG-2026",
        applicant_id=applicant.id,
        office_id=office_id,
        state="filed",
        filed_on=date(2026, 3, 2),
    )
    db.session.add(case)
    db.session.flush()
    return case


def _services(person: Person, provider_id: int, by_id: int) -> dict[str, int]:
    consent = Consent(
        person_id=person.id,
        scope="referral",
        purpose="Health care",
        given_on=date(2026, 3, 1),
        given_to_id=provider_id,
        recorded_by_id=by_id,
    )
    db.session.add(consent)
    db.session.flush()
    referral = Referral(
        person_id=person.id,
        service_code="vaccination",
        provider_id=provider_id,
        sender_organisation_id=provider_id,
        consent_id=consent.id,
        purpose="Vaccination",
        state="accepted",
    )
    db.session.add(referral)
    db.session.flush()
    assistance = AssistanceRecord(
        person_id=person.id,
        referral_id=referral.id,
        provider_id=provider_id,
        service_code="vaccination",
        given_on=date(2026, 3, 5),
        quantity=Decimal("1"),
        unit="dose",
    )
    event = PersonEvent(person_id=person.id, kind="referral", record_type="referrals")
    document = IdentityDocument(person_id=person.id, kind="passport", number=f"P{person.id:07d}")
    db.session.add_all([assistance, event, document])
    db.session.flush()
    return {
        "consents": consent.id,
        "referrals": referral.id,
        "assistance_records": assistance.id,
        "person_events": event.id,
        "identity_documents": document.id,
    }


@pytest.fixture
def twins(app: Flask, world: World) -> Twins:
    with app.app_context():
        caseworker = user_by_key(world, "caseworker")
        rab, ngo = world.orgs["RAB"], world.orgs["NGO1"]
        kept = make_person(
            caseworker,
            family_name="Diallo",
            given_names="Mohamed",
            family_name_ar=None,
            given_names_ar=None,
            date_of_birth=BORN,
        )
        merged = make_person(
            caseworker,
            family_name="Diallo",
            given_names="Muhammad",
            family_name_ar="ديالو",
            given_names_ar="محمد",
            date_of_birth=BORN,
        )
        rows: dict[str, dict[str, set[int]]] = {"kept": {}, "merged": {}}
        # Files: each is the applicant of one; the merged one is also a member of a file of the
        # Rabat head of household, and of the kept one's own file (set aside on merge).
        kept_case = _case("REG-2026-RAB-900001", kept, rab)
        merged_case = _case("REG-2026-RAB-900002", merged, rab)
        family_case = _case(
            "REG-2026-RAB-900003", db.session.get(Person, world.people["rabat"]), rab
        )
        db.session.add_all(
            [
                CaseMember(case_id=family_case.id, person_id=merged.id),
                CaseMember(case_id=kept_case.id, person_id=merged.id),
            ]
        )
        rows["kept"]["cases"] = {kept_case.id}
        rows["merged"]["cases"] = {merged_case.id}
        for key, person in (("kept", kept), ("merged", merged)):
            for table, row_id in _services(person, ngo, caseworker.id).items():
                rows[key].setdefault(table, set()).add(row_id)
        # Household: the merged record heads one with a child; the kept record has none.
        household = create_household(merged, by=caseworker)
        child = make_person(
            caseworker,
            family_name="Diallo",
            given_names="Binta",
            family_name_ar=None,
            given_names_ar=None,
            sex="F",
            date_of_birth=date(2016, 1, 9),
        )
        household.members.append(HouseholdMember(person=child, relationship_to_head="child"))
        db.session.commit()
        pair = db.session.scalar(
            select(DuplicatePair.id).where(
                DuplicatePair.person_id == kept.id, DuplicatePair.other_id == merged.id
            )
        )
        assert pair is not None, "registering the second record queued the pair"
        return Twins(kept=kept.id, merged=merged.id, pair=pair, rows=rows)


def _owned(person_id: int) -> dict[str, set[int]]:
    from casework.people.merge import _moving_tables

    return {
        table: set(db.session.scalars(select(model.id).where(column == person_id)))
        for table, (model, column) in _moving_tables().items()
    }


def _members_of(person_id: int) -> set[int]:
    return set(
        db.session.scalars(select(CaseMember.case_id).where(CaseMember.person_id == person_id))
    )


def test_merging_keeps_everything_of_both_on_the_kept_record(app, world, twins: Twins) -> None:
    with app.app_context():
        supervisor = user_by_key(world, "supervisor")
        kept, merged = db.session.get(Person, twins.kept), db.session.get(Person, twins.merged)
        pair = db.session.get(DuplicatePair, twins.pair)
        before_members = _members_of(twins.merged)
        household_id = merged.membership.household_id

        merge = merge_people(kept, merged, by=supervisor, reason="Same passport photo", pair=pair)
        db.session.commit()

        owned = _owned(twins.kept)
        for table in twins.rows["kept"]:
            assert twins.rows["kept"][table] | twins.rows["merged"][table] <= owned[table], table
        assert _owned(twins.merged) == {table: set() for table in owned}
        # Member of the family file now; the kept record's own file does not list him twice.
        kept_case = next(iter(twins.rows["kept"]["cases"]))
        assert _members_of(twins.kept) == before_members - {kept_case}
        assert _members_of(twins.merged) == set()
        # The household place moved: the kept record heads the household, with the child.
        kept = db.session.get(Person, twins.kept)
        assert kept.membership.household_id == household_id
        assert len(db.session.get(Household, household_id).members) == 2
        # The merged record stays, marked, out of searches; the merge keeps its history.
        merged = db.session.get(Person, twins.merged)
        assert merged.merged_into_id == twins.kept
        caseworker = user_by_key(world, "caseworker")
        found = db.session.scalars(search_people(caseworker, PeopleFilter(q="Diallo"))).all()
        assert twins.merged not in {p.id for p in found}
        assert merge.former_values["given_names"] == "Muhammad"
        assert merge.former_values["given_names_ar"] == "محمد"
        assert merge.former_values["documents"][0]["number"] == f"P{twins.merged:07d}"
        assert merge.merged_by_id == supervisor.id and merge.reason == "Same passport photo"
        assert set(merge.moved["referrals"]) == twins.rows["merged"]["referrals"]
        # The programme indicators now count the two records as one person.
        assert reach.differences(db.session.connection()) == []
        assert db.session.get(DuplicatePair, twins.pair).status == PairStatus.MERGED
        assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "person.merge"))


def test_undo_restores_both_records(app, world, twins: Twins) -> None:
    with app.app_context():
        supervisor = user_by_key(world, "supervisor")
        kept, merged = db.session.get(Person, twins.kept), db.session.get(Person, twins.merged)
        members_before = (_members_of(twins.kept), _members_of(twins.merged))
        owned_before = (_owned(twins.kept), _owned(twins.merged))
        household_before = merged.membership.household_id
        merge = merge_people(
            kept,
            merged,
            by=supervisor,
            reason="Same person",
            pair=db.session.get(DuplicatePair, twins.pair),
        )
        db.session.commit()

        undo_merge(db.session.get(PersonMerge, merge.id), by=supervisor)
        db.session.commit()

        assert (_owned(twins.kept), _owned(twins.merged)) == owned_before
        assert reach.differences(db.session.connection()) == []
        assert (_members_of(twins.kept), _members_of(twins.merged)) == members_before
        merged = db.session.get(Person, twins.merged)
        assert merged.merged_into_id is None
        assert merged.membership.household_id == household_before
        assert db.session.get(Person, twins.kept).membership is None
        merge = db.session.get(PersonMerge, merge.id)
        assert merge.undone_at is not None and merge.undone_by_id == supervisor.id
        assert db.session.get(DuplicatePair, twins.pair).status == PairStatus.OPEN
        assert db.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "person.merge_undo")
        )
        with pytest.raises(MergeError):
            undo_merge(merge, by=supervisor)


def test_a_record_is_not_merged_into_itself_nor_twice(app, world, twins: Twins) -> None:
    with app.app_context():
        supervisor = user_by_key(world, "supervisor")
        kept, merged = db.session.get(Person, twins.kept), db.session.get(Person, twins.merged)
        with pytest.raises(MergeError, match="same_person"):
            merge_people(kept, kept, by=supervisor, reason="x")
        with pytest.raises(MergeError, match="reason_required"):
            merge_people(kept, merged, by=supervisor, reason="  ")
        merge_people(kept, merged, by=supervisor, reason="Same person")
        with pytest.raises(MergeError, match="already_merged"):
            merge_people(
                db.session.get(Person, twins.kept),
                db.session.get(Person, twins.merged),
                by=supervisor,
                reason="again",
            )


def test_merge_and_undo_through_the_pages(app, client, world, twins: Twins) -> None:
    sign_in(client, world.users["supervisor"])
    prefix = f"m{twins.pair}"

    response = client.post(
        f"/people/duplicates/{twins.pair}/merge",
        data={f"{prefix}-keep": str(twins.kept), f"{prefix}-reason": "Same passport"},
    )

    assert response.status_code == 302
    with app.app_context():
        merge_id = db.session.scalar(select(PersonMerge.id))
    assert response.headers["Location"].endswith(f"/people/merges/{merge_id}")
    page = client.get(f"/people/merges/{merge_id}").get_data(as_text=True)
    assert "Undo this merge" in page and "Muhammad" in page
    merged_page = client.get(f"/people/{twins.merged}").get_data(as_text=True)
    assert "This record was merged into" in merged_page

    assert client.post(f"/people/merges/{merge_id}/undo").status_code == 302
    with app.app_context():
        assert db.session.get(Person, twins.merged).merged_into_id is None
        assert db.session.get(PersonMerge, merge_id).undone_at is not None


def test_only_supervisors_merge_within_their_scope(app, world, twins: Twins) -> None:
    data = {f"m{twins.pair}-keep": str(twins.kept), f"m{twins.pair}-reason": "Same"}
    caseworker = app.test_client()
    sign_in(caseworker, world.users["caseworker"])
    assert caseworker.post(f"/people/duplicates/{twins.pair}/merge", data=data).status_code == 403
    ngo = app.test_client()
    sign_in(ngo, world.users["ngo"])
    assert ngo.get("/people/duplicates").status_code == 403
    # The Rabat region's supervisor reaches the pair; a pair out of scope is answered 404.
    regional = app.test_client()
    sign_in(regional, world.users["regional"])
    with app.app_context():
        tanger = make_person(
            user_by_key(world, "caseworker2"),
            family_name="Okafor",
            given_names="Chinedu",
            family_name_ar=None,
            given_names_ar=None,
            nationality="NG",
        )
        db.session.commit()
        outside = db.session.scalar(
            select(DuplicatePair.id).where(DuplicatePair.other_id == tanger.id)
        )
    assert outside is not None
    assert regional.post(f"/people/duplicates/{outside}/dismiss").status_code == 404
    assert regional.post(f"/people/duplicates/{twins.pair}/merge", data=data).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(PersonMerge.id))) == 1


def test_merged_people_leave_the_api_list(app, client, world, twins: Twins) -> None:
    with app.app_context():
        merge_people(
            db.session.get(Person, twins.kept),
            db.session.get(Person, twins.merged),
            by=user_by_key(world, "supervisor"),
            reason="Same",
        )
        db.session.commit()
    headers = api_token(client, world.users["caseworker"])
    ids = {
        p["id"] for p in client.get("/api/v1/people?q=Diallo", headers=headers).get_json()["items"]
    }
    assert twins.kept in ids and twins.merged not in ids
