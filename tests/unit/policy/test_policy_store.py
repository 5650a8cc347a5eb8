"""Loading policy directories, versions, annotation conventions and safe hot reload."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import pytest

from tests.unit.policy.helpers import FailingAudit, make_request, user
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.errors import InvalidInput, StoreUnavailable
from zerotrust.policy.cedar import PolicyLoadError
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import (
    PolicyBundle,
    PolicyStore,
    default_pack_dir,
    load_default,
    load_dir,
    load_sources,
)

REPO = Path(__file__).resolve().parents[3]
SCHEMA = (default_pack_dir() / "schema.cedarschema").read_text("utf-8")
PERMIT = '@id("p") @reason("role-permit") permit (principal, action, resource is Report);'


def copy_pack(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(default_pack_dir(), target)
    return target


def test_the_operator_copy_in_policies_matches_the_packaged_pack() -> None:
    packaged = sorted(p.name for p in default_pack_dir().iterdir() if p.suffix != ".py")
    operator = REPO / "policies"
    match, mismatch, errors = filecmp.cmpfiles(
        default_pack_dir(), operator, packaged, shallow=False
    )
    assert (mismatch, errors) == ([], []), "policies/ and the packaged pack differ: copy both"
    assert sorted(match) == packaged
    extra = {p.name for p in operator.iterdir()} - set(packaged) - {"README.md"}
    assert not extra


def test_the_default_pack_loads_and_follows_the_conventions() -> None:
    bundle = load_default()
    assert len(bundle) == 27
    assert bundle.version.startswith("sha256:")
    assert len(bundle.version) == 71
    for info in bundle.infos.values():
        assert info.reason
        if info.step_up_aal is not None:
            assert info.policy.effect == "forbid"


def test_the_version_is_stable_and_tracks_every_byte(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    first = load_dir(pack).version
    assert load_dir(pack).version == first == load_default().version
    guards = pack / "00-guards.cedar"
    guards.write_text(guards.read_text() + "\n// a comment changes the version too\n")
    assert load_dir(pack).version != first


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("permit (principal, action resource);", "a.cedar: unexpected token"),
        ('@reason("x") permit (principal, action, resource);', "needs an @id"),
        ('@id("p") permit (principal, action, resource);', "kebab-case @reason"),
        ('@id("Bad_Id") @reason("x") permit (principal, action, resource);', "kebab-case"),
        (PERMIT + "\n" + PERMIT, "duplicate @id"),
        (
            '@id("p") @reason("x") @obligation("reveal:pan") permit (principal, action, resource);',
            "reveal:pan",
        ),
        (
            '@id("f") @reason("x") @obligation("mask:pan") forbid (principal, action, resource);',
            "@obligation belongs on permit",
        ),
        (
            '@id("p") @reason("x") @step_up("aal3") permit (principal, action, resource);',
            "@step_up",
        ),
        (
            '@id("f") @reason("x") @step_up("aal9") forbid (principal, action, resource);',
            "@step_up",
        ),
        (
            '@id("f") @reason("x") @max_age("60") forbid (principal, action, resource);',
            "@max_age needs @step_up",
        ),
        (
            '@id("f") @reason("x") @step_up("aal2") @max_age("soon") '
            "forbid (principal, action, resource);",
            "@max_age must be",
        ),
        (
            '@id("t") @reason("x") permit (principal == ?principal, action, resource);',
            "templates are not supported",
        ),
        (
            '@id("p") @reason("x") permit (principal, action, resource) when { context.nope };',
            "policy p:",
        ),
        (
            '@id("p") @reason("x") permit (principal, action == Action::"fly", resource);',
            "policy p:",
        ),
    ],
)
def test_bad_policy_files_are_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_sources([("a.cedar", text)], SCHEMA)
    assert message in caught.value.detail
    assert "\n" not in caught.value.detail


def test_a_bad_schema_is_refused() -> None:
    with pytest.raises(PolicyLoadError, match="schema:"):
        load_sources([("a.cedar", PERMIT)], "entity User = { roles: Set<String> ")


def test_a_directory_needs_a_schema(tmp_path: Path) -> None:
    (tmp_path / "a.cedar").write_text(PERMIT)
    with pytest.raises(PolicyLoadError, match=r"no schema\.cedarschema"):
        load_dir(tmp_path)
    with pytest.raises(PolicyLoadError, match="not a directory"):
        load_dir(tmp_path / "missing")


def test_non_utf8_files_are_refused(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    (pack / "99-latin1.cedar").write_bytes(b"// caf\xe9\n")
    with pytest.raises(PolicyLoadError, match="not UTF-8"):
        load_dir(pack)


# -- hot reload (security catalogue E.35) -------------------------------------------------


def store_over(tmp_path: Path) -> tuple[PolicyStore, MemoryAudit, Path]:
    audit = MemoryAudit()
    pack = copy_pack(tmp_path)
    return PolicyStore.from_dir(pack, audit=audit), audit, pack


def analyst_reads(store: PolicyStore) -> str:
    pdp = PolicyDecisionPoint(store)
    return pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction")).effect


def test_a_syntax_error_on_reload_keeps_the_last_good_set(tmp_path: Path) -> None:
    store, audit, pack = store_over(tmp_path)
    good = store.current.version
    (pack / "30-people.cedar").write_text("permit (principal, action resource);")
    result = store.reload()
    assert (result.status, result.version) == ("rejected", good)
    assert result.error
    assert "30-people.cedar" in result.error
    assert store.current.version == good
    assert analyst_reads(store) == "allow"
    [record] = audit.records
    assert (record.action, record.outcome) == ("policy.reload", "failure")
    assert record.reason == result.error
    assert record.resource == f"policy-set:{good}"


def test_an_empty_set_on_reload_keeps_the_last_good_set(tmp_path: Path) -> None:
    store, audit, pack = store_over(tmp_path)
    for policy_file in pack.glob("*.cedar"):
        policy_file.unlink()
    result = store.reload()
    assert (result.status, result.error) == ("rejected", "the new policy set is empty")
    assert len(store.current) == 27
    assert audit.records[-1].outcome == "failure"


def test_a_good_reload_swaps_the_set_and_is_audited(tmp_path: Path) -> None:
    store, audit, pack = store_over(tmp_path)
    old = store.current.version
    (pack / "30-people.cedar").unlink()
    result = store.reload()
    assert result.status == "reloaded"
    assert result.version != old
    assert analyst_reads(store) == "deny"
    assert (audit.records[-1].outcome, audit.records[-1].resource) == (
        "success",
        f"policy-set:{result.version}",
    )
    assert store.reload().status == "unchanged"


def test_poll_reports_a_rejected_set_once(tmp_path: Path) -> None:
    store, audit, pack = store_over(tmp_path)
    assert store.poll().status == "unchanged"
    (pack / "99-broken.cedar").write_text("forbid (")
    assert store.poll().status == "rejected"
    assert store.poll().status == "rejected"
    assert len(audit.records) == 1  # not re-audited while nothing changes
    (pack / "99-broken.cedar").unlink()
    assert store.poll().status == "unchanged"
    shutil.rmtree(pack)
    assert store.poll().status == "rejected"
    assert store.poll().status == "rejected"
    assert len(audit.records) == 2
    assert analyst_reads(store) == "allow"


def test_a_reload_that_cannot_be_audited_does_not_take_effect(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    store = PolicyStore.from_dir(pack, audit=FailingAudit())
    old = store.current.version
    (pack / "30-people.cedar").unlink()
    with pytest.raises(StoreUnavailable):
        store.reload()
    assert store.current.version == old


def test_a_store_without_a_source_has_nothing_to_reload() -> None:
    store = PolicyStore(PolicyBundle.empty(), audit=MemoryAudit())
    assert store.poll().status == "unchanged"
    with pytest.raises(InvalidInput, match="no policy directory"):
        store.reload()
