"""Which partition a client's results are on, and ids issued to land on a replica's own."""
from aiokafka.partitioner import DefaultPartitioner

from services.gateway.results.replies import ReplyRoutes, Route, partition_for


def test_the_partition_is_the_one_the_producer_picks() -> None:
    # The notifier publishes with aiokafka's default partitioner; a replica looking for a
    # client's results must land on the same partition.
    for count in (1, 2, 12, 16):
        for key in ("0" * 32, "a" * 32, "5f0e1b2c3d4e5f60718293a4b5c6d7e8", "job-1"):
            assert partition_for(key, count) == DefaultPartitioner()(key.encode(), list(range(count)), [])


def test_issued_ids_land_on_the_home_route_and_look_like_any_other() -> None:
    routes = ReplyRoutes(12, 12, "gateway-7")
    ids = [routes.new_id() for _ in range(50)]
    assert all(routes.route(i) == routes.home for i in ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert len(set(ids)) == 50


def test_home_is_stable_per_replica_name_and_spread_over_names() -> None:
    assert ReplyRoutes(12, 12, "gateway-1").home == ReplyRoutes(12, 12, "gateway-1").home
    homes = {ReplyRoutes(12, 12, f"barcode-gateway-{n}").home.notifications for n in range(40)}
    assert len(homes) >= 8  # names spread over most of the 12 partitions


def test_topics_with_other_partition_counts_are_each_honoured() -> None:
    # An installation whose progress topic kept another partition count still gets ids whose
    # results and progress both land where this replica reads.
    routes = ReplyRoutes(12, 2, "gateway")
    new = routes.new_id()
    assert routes.route(new) == routes.home == Route(routes.home.notifications, routes.home.progress)
    assert routes.home.progress < 2
