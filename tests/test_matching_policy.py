"""The matching policy (DESIGN.md §2 "Matching") and the travel estimate, without a database."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from dispatch.cases.states import Urgency
from dispatch.matching.policy import (
    POLICIES,
    SERVICE_POLICY,
    UNASSIGNED_COST,
    UNWEIGHTED,
    URGENCY_WEIGHT,
    AvailablePhysician,
    Match,
    WaitingCase,
    assign,
    drive_cost,
    least_total_travel,
    nearest_available,
    round_robin,
    urgency_weighted_travel,
)
from dispatch.matching.travel import Point, StraightLineEstimate, distance_km

TOKYO = ZoneInfo("Asia/Tokyo")
NIGHT = datetime(2025, 1, 15, 23, 0, tzinfo=TOKYO)
NARITA = Point(35.7767, 140.3184)
SAKURA = Point(35.7238, 140.2237)
TOWN = 1  # one municipality id that every physician below covers unless told otherwise


def line(x: float) -> Point:
    """A point on a straight road: `x` is the minutes from the origin."""
    return Point(35.0, x)


def along_the_road(origin: Point, destination: Point) -> float:
    """A travel estimate on that road: minutes are the difference in x."""
    return abs(origin.longitude - destination.longitude)


def case(
    case_id: int,
    at: float,
    urgency: Urgency = Urgency.yellow,
    town: int | None = TOWN,
    waited_min: int = 0,
    excluded: frozenset[int] = frozenset(),
) -> WaitingCase:
    return WaitingCase(
        case_id=case_id,
        urgency=urgency,
        location=line(at),
        municipality_id=town,
        waiting_since=NIGHT - timedelta(minutes=waited_min),
        excluded=excluded,
    )


def physician(
    physician_id: int,
    at: float,
    towns: frozenset[int] = frozenset({TOWN}),
    last_worked_at: datetime | None = None,
) -> AvailablePhysician:
    return AvailablePhysician(physician_id, line(at), towns, last_worked_at)


def total(result: dict[int, Match]) -> float:
    return sum(match.travel_min for match in result.values())


def assigned(result: dict[int, Match]) -> dict[int, int]:
    return {case_id: match.physician_id for case_id, match in result.items()}


# --- a surge: all waiting cases at once, least total travel ---------------------------------------------------


def test_a_surge_is_assigned_for_least_total_travel_where_greedy_is_worse():
    # Case 1 (waiting longer) is at 0, case 2 at 4. Physician 10 at 2 is nearest to both; physician 20 at -3
    # is 3 minutes from case 1 but 7 from case 2. Greedy gives case 1 its nearest (10) and leaves case 2 the
    # long drive: 2 + 7 = 9 minutes. Together: 3 + 2 = 5.
    cases = [case(1, 0, waited_min=10), case(2, 4, waited_min=5)]
    physicians = [physician(10, 2), physician(20, -3)]

    greedy = nearest_available(cases, physicians, along_the_road)
    best = least_total_travel(cases, physicians, along_the_road)

    assert assigned(greedy) == {1: 10, 2: 20}
    assert total(greedy) == pytest.approx(9)
    assert assigned(best) == {1: 20, 2: 10}
    assert total(best) == pytest.approx(5)
    assert best[1].travel_min == pytest.approx(3) and best[2].travel_min == pytest.approx(2)


def test_a_surge_across_real_towns_with_the_straight_line_estimate():
    # Calls from 佐倉 (waiting longer) and 成田; physicians at 酒々井 (nearest to both) and 四街道 (near
    # 佐倉, far from 成田). Greedy sends 酒々井 to 佐倉 and 四街道 all the way to 成田; together, 四街道
    # takes 佐倉.
    shisui, yotsukaido = Point(35.7244, 140.2696), Point(35.6697, 140.1682)
    estimate = StraightLineEstimate()
    cases = [
        WaitingCase(1, Urgency.orange, SAKURA, TOWN, NIGHT - timedelta(minutes=9)),
        WaitingCase(2, Urgency.orange, NARITA, TOWN, NIGHT - timedelta(minutes=1)),
    ]
    physicians = [
        AvailablePhysician(10, shisui, frozenset({TOWN}), None),
        AvailablePhysician(20, yotsukaido, frozenset({TOWN}), None),
    ]

    greedy = nearest_available(cases, physicians, estimate)
    best = least_total_travel(cases, physicians, estimate)

    assert assigned(greedy) == {1: 10, 2: 20}
    assert assigned(best) == {1: 20, 2: 10}
    assert total(best) == pytest.approx(estimate(yotsukaido, SAKURA) + estimate(shisui, NARITA))
    assert total(best) < total(greedy) - 15  # a quarter of an hour less driving at night


def test_with_enough_physicians_every_feasible_case_is_assigned_once_and_each_physician_once():
    cases = [case(n, at=n * 3) for n in range(1, 6)]
    physicians = [physician(10 + n, at=n * 3 + 1) for n in range(1, 6)]
    result = least_total_travel(cases, physicians, along_the_road)
    assert sorted(result) == [1, 2, 3, 4, 5]
    assert len({m.physician_id for m in result.values()}) == 5
    assert total(result) == pytest.approx(5)


def test_nothing_waiting_or_nobody_free_assigns_nothing():
    for policy in POLICIES.values():
        assert policy([], [physician(10, 0)], along_the_road) == {}
        assert policy([case(1, 0)], [], along_the_road) == {}


# --- urgency: a red case is never left for a green one --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_red_case_is_never_left_unassigned_for_a_green_one(name):
    # One physician, right next to a green case that has waited longer; the red case is far away.
    green = case(1, at=1, urgency=Urgency.green, waited_min=30)
    red = case(2, at=40, urgency=Urgency.red, waited_min=0)
    result = POLICIES[name]([green, red], [physician(10, 0)], along_the_road)
    assert assigned(result) == {2: 10}


def test_with_fewer_physicians_than_cases_the_most_urgent_are_served():
    # Three physicians, five cases: the red and the orange cases get a physician even though the green and
    # white ones are much closer to everyone.
    cases = [
        case(1, at=0, urgency=Urgency.green, waited_min=60),
        case(2, at=1, urgency=Urgency.white, waited_min=50),
        case(3, at=90, urgency=Urgency.red),
        case(4, at=-80, urgency=Urgency.orange),
        case(5, at=2, urgency=Urgency.yellow),
    ]
    physicians = [physician(10, 0), physician(20, 1), physician(30, 2)]
    result = least_total_travel(cases, physicians, along_the_road)
    assert sorted(result) == [3, 4, 5]


def test_a_red_case_no_one_may_take_does_not_keep_a_green_one_waiting():
    red = case(1, at=0, urgency=Urgency.red, town=2)  # nobody covers town 2
    green = case(2, at=5, urgency=Urgency.green)
    result = least_total_travel([red, green], [physician(10, 0)], along_the_road)
    assert assigned(result) == {2: 10}


def test_a_red_case_is_not_given_the_longer_drive_to_save_minutes_on_two_greens():
    # A red case at 0, two green ones at 10 and 14; physicians at 3, -5 and 22. Least total travel sends the
    # one 5 minutes away to the red case (5 + 7 + 8 = 20 min) so the greens save 8 minutes; weighted by
    # urgency, the red case gets the one 3 minutes away and the greens drive longer (3 + 15 + 8).
    cases = [case(1, 0, Urgency.red), case(2, 10, Urgency.green), case(3, 14, Urgency.green)]
    physicians = [physician(10, 3), physician(20, -5), physician(30, 22)]

    old = least_total_travel(cases, physicians, along_the_road)
    new = urgency_weighted_travel(cases, physicians, along_the_road)

    assert old[1].travel_min == pytest.approx(5) and total(old) == pytest.approx(20)
    assert new[1].travel_min == pytest.approx(3) and assigned(new) == {1: 10, 2: 20, 3: 30}
    assert total(new) == pytest.approx(26)


def test_the_weights_never_outweigh_leaving_a_more_urgent_case_waiting():
    # One physician, a red case 500 minutes away and an orange one next door: the red case is served.
    red, orange = case(1, at=500, urgency=Urgency.red), case(2, at=1, urgency=Urgency.orange)
    assert assigned(urgency_weighted_travel([orange, red], [physician(10, 0)], along_the_road)) == {1: 10}


# --- cross-area backup (広域連携) ---------------------------------------------------------------------------
OWN, NEIGHBOUR, FAR_AREA = 1, 2, 3  # area ids: the case's, a neighbour of it, one that is not


def area_case(case_id: int, at: float, urgency: Urgency = Urgency.yellow, cap: float = 60.0) -> WaitingCase:
    return WaitingCase(case_id, urgency, line(at), TOWN, NIGHT, cap_min=cap, neighbours=frozenset({NEIGHBOUR}))


def neighbour(physician_id: int, at: float, area: int = NEIGHBOUR) -> AvailablePhysician:
    """On call for a town of another area (100 + area), not for the case's town."""
    return AvailablePhysician(physician_id, line(at), frozenset({100 + area}), None, frozenset({area}))


def own(physician_id: int, at: float) -> AvailablePhysician:
    return AvailablePhysician(physician_id, line(at), frozenset({TOWN}), None, frozenset({OWN}))


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_an_own_physician_within_the_cap_is_sent_though_a_neighbours_is_nearer(name):
    result = POLICIES[name]([area_case(1, 0)], [neighbour(10, 2), own(20, 50)], along_the_road)
    assert assigned(result) == {1: 20} and result[1].from_area_id is None


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_with_no_own_physician_the_nearest_neighbour_within_the_cap_is_sent(name):
    result = POLICIES[name]([area_case(1, 0)], [neighbour(10, 40), neighbour(20, -30)], along_the_road)
    if name != "round_robin":  # whatever the distance: physician 10 comes first in turn
        assert assigned(result) == {1: 20}
    assert result[1].from_area_id == NEIGHBOUR


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_neighbour_within_the_cap_beats_an_own_physician_beyond_it(name):
    result = POLICIES[name]([area_case(1, 0)], [own(10, 90), neighbour(20, 55)], along_the_road)
    if name != "round_robin":
        assert assigned(result) == {1: 20} and result[1].from_area_id == NEIGHBOUR
    # With no neighbour within the cap, the own physician beyond it still goes.
    result = POLICIES[name]([area_case(1, 0)], [own(10, 90), neighbour(20, 61)], along_the_road)
    assert assigned(result) == {1: 10} and result[1].from_area_id is None


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_neighbour_beyond_the_cap_or_an_area_that_is_not_a_neighbour_is_never_sent(name):
    result = POLICIES[name](
        [area_case(1, 0)], [neighbour(10, 61), neighbour(20, 1, area=FAR_AREA)], along_the_road
    )
    assert result == {}
    # Nor is anyone of another area when the case has no neighbours to call on (single-area matching).
    single = WaitingCase(1, Urgency.red, line(0), TOWN, NIGHT, cap_min=60.0)
    assert POLICIES[name]([single], [neighbour(10, 1)], along_the_road) == {}


def test_a_case_whose_own_physician_a_more_urgent_case_takes_is_backed_up_in_the_same_round():
    red, yellow = area_case(1, 10, Urgency.red), area_case(2, 0, Urgency.yellow)
    result = urgency_weighted_travel([yellow, red], [own(10, 5), neighbour(20, -20)], along_the_road)
    assert assigned(result) == {1: 10, 2: 20}
    assert result[2].from_area_id == NEIGHBOUR and result[2].travel_min == pytest.approx(20)


def test_each_case_is_measured_by_its_own_areas_estimate():
    slow, fast = StraightLineEstimate(speed_kmh=20.0), StraightLineEstimate(speed_kmh=40.0)
    cases = [
        WaitingCase(1, Urgency.yellow, NARITA, TOWN, NIGHT, estimate=slow),
        WaitingCase(2, Urgency.yellow, NARITA, 2, NIGHT, estimate=fast),
    ]
    physicians = [
        AvailablePhysician(10, SAKURA, frozenset({TOWN}), None),
        AvailablePhysician(20, SAKURA, frozenset({2}), None),
    ]
    result = urgency_weighted_travel(cases, physicians, along_the_road)
    assert result[1].travel_min == pytest.approx(slow(SAKURA, NARITA))
    assert result[2].travel_min == pytest.approx(fast(SAKURA, NARITA))


def objective(cases, by_id, weights, result: dict[int, Match]) -> float:
    """What the assignment minimises (on a straight road, equal totals are common)."""
    total = 0.0
    for c in cases:
        match = result.get(c.case_id)
        if match is None:
            total += UNASSIGNED_COST[c.urgency]
            continue
        priced = drive_cost(c, by_id[match.physician_id], match.travel_min)
        assert priced is not None and priced[1] == match.from_area_id
        total += weights[c.urgency] * priced[0]
    return total


def test_keeping_each_cases_nearest_only_finds_the_same_assignment_as_the_whole_matrix():
    # The round keeps, per case, as many of its cheapest physicians as there are cases: the exact optimum.
    rng = np.random.default_rng(7)
    for trial in range(30):
        cases = [
            WaitingCase(
                n,
                list(Urgency)[int(rng.integers(0, 4))],
                line(float(rng.uniform(0, 100))),
                int(rng.integers(1, 4)),
                NIGHT,
                cap_min=float(rng.choice([20.0, 60.0])),
                neighbours=frozenset({int(rng.integers(1, 4))}),
            )
            for n in range(int(rng.integers(1, 8)))
        ]
        physicians = [
            AvailablePhysician(
                100 + k,
                line(float(rng.uniform(0, 100))),
                frozenset({int(rng.integers(1, 4))}),
                None,
                frozenset({int(rng.integers(1, 4))}),
            )
            for k in range(int(rng.integers(1, 40)))
        ]
        by_id = {p.physician_id: p for p in physicians}
        for weights in (UNWEIGHTED, URGENCY_WEIGHT):
            pruned = assign(cases, physicians, along_the_road, weights)
            whole = assign(cases, physicians, along_the_road, weights, prune=False)
            assert objective(cases, by_id, weights, pruned) == pytest.approx(
                objective(cases, by_id, weights, whole), abs=0.02
            ), trial


# --- feasibility ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_physician_who_does_not_cover_the_municipality_is_never_assigned(name):
    near_but_elsewhere = physician(10, at=0, towns=frozenset({2, 3}))
    far_but_covering = physician(20, at=30, towns=frozenset({TOWN, 2}))
    result = POLICIES[name]([case(1, at=0)], [near_but_elsewhere, far_but_covering], along_the_road)
    assert assigned(result) == {1: 20}
    assert result[1].travel_min == pytest.approx(30)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_physician_who_declined_or_timed_out_on_the_case_is_never_assigned_to_it_again(name):
    waiting = case(1, at=0, excluded=frozenset({10}))
    result = POLICIES[name]([waiting], [physician(10, 0), physician(20, 25)], along_the_road)
    assert assigned(result) == {1: 20}
    # ... and when they were the only one, the case stays unassigned rather than going back to them.
    assert POLICIES[name]([waiting], [physician(10, 0)], along_the_road) == {}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_no_feasible_physician_leaves_the_case_unassigned_and_others_unaffected(name):
    nobody_covers = case(1, at=0, urgency=Urgency.red, town=99)
    other = case(2, at=3)
    result = POLICIES[name]([nobody_covers, other], [physician(10, 0), physician(20, 1)], along_the_road)
    assert set(result) == {2}
    assert result[2].physician_id in {10, 20}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_case_without_a_known_municipality_may_go_to_anyone(name):
    result = POLICIES[name](
        [case(1, at=0, town=None)], [physician(10, 5, towns=frozenset({7}))], along_the_road
    )
    assert assigned(result) == {1: 10}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_physician_is_given_at_most_one_case(name):
    cases = [case(1, at=0, urgency=Urgency.red), case(2, at=0, urgency=Urgency.red)]
    result = POLICIES[name](cases, [physician(10, 0)], along_the_road)
    assert len(result) == 1


# --- rest breaks ties -----------------------------------------------------------------------------------------


def test_on_equal_travel_a_physician_who_has_not_worked_is_chosen():
    worked = physician(10, at=-5, last_worked_at=NIGHT - timedelta(hours=1))
    rested = physician(20, at=5, last_worked_at=None)
    for order in ([worked, rested], [rested, worked]):
        assert assigned(least_total_travel([case(1, at=0)], order, along_the_road)) == {1: 20}


def test_on_equal_travel_the_physician_who_worked_longest_ago_is_chosen():
    recent = physician(10, at=-5, last_worked_at=NIGHT - timedelta(minutes=20))
    earlier = physician(20, at=5, last_worked_at=NIGHT - timedelta(hours=3))
    middle = physician(30, at=5, last_worked_at=NIGHT - timedelta(hours=2))
    for order in ([recent, earlier, middle], [middle, recent, earlier], [earlier, middle, recent]):
        result = least_total_travel([case(1, at=0)], order, along_the_road)
        assert assigned(result) == {1: 20}
        assert result[1].travel_min == pytest.approx(5)  # the tie-break is not reported as travel


def test_rest_never_outweighs_a_shorter_drive():
    tired_but_near = physician(10, at=1, last_worked_at=NIGHT - timedelta(minutes=5))
    rested_but_farther = physician(20, at=2, last_worked_at=None)
    result = least_total_travel([case(1, at=0)], [tired_but_near, rested_but_farther], along_the_road)
    assert assigned(result) == {1: 10}


# --- the baselines and the registry ---------------------------------------------------------------------------


def test_policies_names_all_four_and_the_service_uses_the_urgency_weighted_one():
    expected = {
        "urgency_weighted_travel": urgency_weighted_travel,
        "least_total_travel": least_total_travel,
        "nearest_available": nearest_available,
        "round_robin": round_robin,
    }
    assert expected == POLICIES
    assert SERVICE_POLICY == "urgency_weighted_travel"


def test_nearest_available_serves_the_most_urgent_then_the_longest_waiting_first():
    # One physician: the orange case beats the yellow one that waited longer; among equals, the older one.
    older_yellow = case(1, at=0, urgency=Urgency.yellow, waited_min=30)
    orange = case(2, at=20, urgency=Urgency.orange, waited_min=1)
    assert assigned(nearest_available([older_yellow, orange], [physician(10, 0)], along_the_road)) == {2: 10}
    newer_yellow = case(3, at=0, urgency=Urgency.yellow, waited_min=5)
    assert assigned(nearest_available([newer_yellow, older_yellow], [physician(10, 0)], along_the_road)) == {
        1: 10
    }


def test_round_robin_takes_physicians_in_turn_whatever_the_distance():
    cases = [case(1, at=0, waited_min=2), case(2, at=100, waited_min=1)]
    physicians = [physician(20, at=0), physician(10, at=100)]
    result = round_robin(cases, physicians, along_the_road)
    assert assigned(result) == {1: 10, 2: 20}
    assert total(result) == pytest.approx(200)
    assert total(least_total_travel(cases, physicians, along_the_road)) == pytest.approx(0)


# --- the travel estimate --------------------------------------------------------------------------------------


def test_narita_to_sakura_is_about_ten_kilometres_in_a_straight_line():
    assert 9.5 < distance_km(NARITA, SAKURA) < 11.0
    assert distance_km(NARITA, SAKURA) == pytest.approx(distance_km(SAKURA, NARITA))
    assert distance_km(NARITA, NARITA) == 0


def test_travel_minutes_are_the_set_off_time_plus_the_drive_and_grow_with_distance():
    estimate = StraightLineEstimate()
    assert estimate(NARITA, NARITA) == pytest.approx(estimate.setoff_min)
    km = distance_km(NARITA, SAKURA)
    drive = km * estimate.road_factor / estimate.speed_kmh * 60
    assert estimate(NARITA, SAKURA) == pytest.approx(estimate.setoff_min + drive)
    assert 25 < estimate(NARITA, SAKURA) < 40  # ~10 km as the crow flies, at night, in 印旛

    farther = [Point(NARITA.latitude - 0.02 * n, NARITA.longitude - 0.02 * n) for n in range(1, 8)]
    minutes = [estimate(NARITA, p) for p in farther]
    assert minutes == sorted(minutes) and len(set(minutes)) == len(minutes)

    slower = StraightLineEstimate(speed_kmh=16.0, setoff_min=10.0)
    assert slower(NARITA, NARITA) == pytest.approx(10.0)
    assert slower(NARITA, SAKURA) == pytest.approx(10.0 + 2 * drive)
