"""NCCL's collective cost model (planner/model/nccl.py) and the stacks' gradient buckets, worked by hand."""
import itertools

import pytest

from planner.model.grad_sync import gradient_messages
from planner.model.nccl import collective_seconds


def test_a_ring_all_gather_over_2048_gpus_waits_for_every_hop():
    # 256 nodes of 8: 1,792 NVLink steps and 255 network steps. LL (tiny message): 3.6 + 1792·0.47·1.8 + 255·2.7 µs
    # beats LL128 (10 + 1792·1.9 + 255·4.0) and Simple (8.4 + 1792·3.4 + 255·9.6)
    ll = 3.6 + 1792 * 0.47 * 1.8 + 255 * 2.7
    assert collective_seconds("allgather", 1.0, 2048, 256, "nvlink", 0.0) == pytest.approx(ll * 1e-6)
    # the same gather inside one node: 7 NVLink steps
    assert collective_seconds("allgather", 1.0, 8, 1, "nvlink", 0.0) == pytest.approx((3.6 + 7 * 0.47) * 1e-6)


def test_a_tensor_parallel_all_reduce_of_a_few_kb_costs_about_ten_microseconds():
    # 8 GPUs on NVLink: ring LL 3.6 + 14·0.47 µs plus the bandwidth at a quarter of the ring's
    bandwidth = 2 * 7 / 8 * 8192 / 450e9
    assert collective_seconds("allreduce", 8192, 8, 1, "nvlink", bandwidth) == pytest.approx(
        (3.6 + 14 * 0.47) * 1e-6 + 4 * bandwidth)


def test_large_messages_take_the_full_bandwidth_protocol():
    # 1 s of ring bandwidth: Simple (8.4 + 14·3.4 µs, full bandwidth) beats LL128 (0.92 of it) and the tree
    assert collective_seconds("allreduce", 1e9, 8, 1, "nvlink", 1.0) == pytest.approx(1.0 + (8.4 + 14 * 3.4) * 1e-6)
    # PCIe has no LL128 and a slower hop
    assert collective_seconds("allreduce", 1e9, 8, 1, "pcie", 1.0) == pytest.approx(1.0 + (8.4 + 14 * 5.7) * 1e-6)


def test_a_tree_all_reduce_pays_log2_of_the_nodes():
    # 1,024 nodes of one GPU, tiny message: tree LL 4.4 + 2·10·5.0 µs against ring LL 3.6 + 2·1023·2.7
    assert collective_seconds("allreduce", 1.0, 1024, 1024, "pcie", 0.0) == pytest.approx((4.4 + 2 * 10 * 5.0) * 1e-6)


def test_stacks_split_the_gradient_as_they_do():
    grad = 1e9  # bytes
    assert gradient_messages(None, grad, 2.0, 64, 32) == 39          # DDP: 25 MiB buckets (38.1)
    assert gradient_messages("megatron", grad, 2.0, 64, 32) == 8     # max(40M, 64M) params × 2 bytes = 128 MB
    assert gradient_messages("megatron", grad, 2.0, 8, 32) == 13     # 40M params × 2 bytes = 80 MB
    assert gradient_messages("deepspeed", grad, 2.0, 64, 32) == 1    # 5e8 elements
    assert gradient_messages("fsdp", grad, 2.0, 64, 32) == 32        # one per wrapped layer
    assert gradient_messages("llm.c", grad, 2.0, 64, 32) == 1


def test_the_least_latency_is_the_least_of_every_algorithm_and_protocol():
    """least_latency_s (the training floors' latency per message) is the least latency collective_seconds may
    charge: the least of _candidates' latencies, bit for bit, over groups within and across nodes."""
    from planner.model.nccl import _candidates, least_latency_s

    for kind in ("allreduce", "allgather", "reducescatter"):
        for intra in ("nvlink", "pcie"):
            for ranks in (1, 2, 3, 8, 16, 64, 2048):
                for nodes in (1, 2, 4, ranks, 4 * ranks):
                    expected = 0.0 if ranks <= 1 else min(c[0] for c in _candidates(kind, ranks, nodes, intra))
                    assert least_latency_s(kind, ranks, nodes, intra) == expected, (kind, intra, ranks, nodes)


def test_least_collectives_are_under_every_message_sum_and_reached():
    """least_collectives_s (the training floors' gradient all-reduce) is at or under `messages` collective_seconds of
    the whole size split evenly, at every size (under and past the ring's plateau threshold), and equal to it where
    no message reaches the threshold (up to rounding): the floor is not overstated, and is no looser than it must be.
    Charging every message the plateau (or the ring's bandwidth term over a tree's share) fails the first."""
    from planner.model.nccl import collective_seconds, least_collectives_s, least_latency_s

    for intra in ("nvlink", "pcie"):
        for ranks in (2, 8, 64, 128, 2048):
            for nodes in (1, 2, ranks // 2, ranks):
                for messages in (1, 3, 40):
                    for size, rate in itertools.product((1e3, 3e4, 1e6, 1e8, 1e10), (1e7, 1e10)):
                        bandwidth = size / rate  # the ring's time at full bandwidth, 10 MB/s or 10 GB/s
                        timed = messages * collective_seconds("allreduce", size / messages, ranks, nodes, intra,
                                                              bandwidth / messages)
                        floor = least_collectives_s("allreduce", ranks, nodes, intra, messages, bandwidth)
                        key = (intra, ranks, nodes, messages, size)
                        assert floor <= timed * (1 + 1e-12), key
                        # never under the former floor (least latency per message plus the ring's bandwidth term)
                        assert floor >= messages * least_latency_s("allreduce", ranks, nodes, intra) + bandwidth \
                            - 1e-15, key
                        if size / messages < ranks / 16.0 * 65536:  # no plateau (nccl._candidates' threshold)
                            assert floor == pytest.approx(timed, rel=1e-12), key
