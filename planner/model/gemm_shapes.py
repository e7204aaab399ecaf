"""Shape-aware GEMM efficiency: tile and wave quantisation against a GPU's SM count.

A GPU computes a matrix product C = A·B (M×K by K×N) by cutting the M×N output into tiles, one thread block each,
and the SMs run the blocks in waves of one block per SM (NVIDIA, "Matrix Multiplication Background User's Guide",
Deep Learning Performance documentation, docs.nvidia.com/deeplearning/performance/dl-performance-matrix-multiplication,
sections "Tile Quantization" and "Wave Quantization": "GPUs implement GEMMs by partitioning the output matrix into
tiles, which are then assigned to thread blocks"; "An NVIDIA A100 GPU has 108 SMs; in the particular case of 256x128
thread block tiles, it can execute one thread block per SM, leading to a wave size of 108 tiles that can execute
simultaneously"). A product whose edges are not whole tiles computes the padded tiles anyway (tile quantisation); a
tile count that is not a whole number of waves leaves SMs idle in the last wave (wave quantisation). Both make a
small or oddly shaped GEMM run below the rate of a large one, which is what the fitted efficiencies measure:

    tiles = ⌈M/tm⌉·⌈N/tn⌉,  waves = ⌈tiles/SMs⌉,  efficiency = M·N / (waves·SMs·tm·tn).

Pure arithmetic; no torch."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from planner.dataclass import dataclass

TILE = (128, 128)
"""Output tile (rows × columns) of one thread block. The guide's worked example uses 256×128 on an A100 and says
cuBLAS chooses among tile sizes by heuristics (larger tiles reuse more data and need less bandwidth; smaller ones
give more tiles to run in parallel); 128×128 is the tile of the cuBLAS SGEMM/HGEMM kernels profiles name most (e.g.
ampere_sgemm_128x128_nn, Stanford CS336 lecture 6 on reading kernel names). One size for every GEMM: the heuristic's
per-shape choice is not modelled."""


@dataclass(frozen=True)
class Gemm:
    """One dense matrix product of a forward pass, per sample: `rows` output rows per sample (tokens), `n` output
    columns, `k` the reduction depth, repeated `count` times per forward pass (e.g. once per layer)."""

    rows: float
    n: float
    k: float
    count: float = 1.0

    def flops(self, batch: float) -> float:
        """Its FLOP for `batch` samples: 2·M·N·K per product."""
        return 2.0 * batch * self.rows * self.n * self.k * self.count


MIN_TILE = 16
"""The smallest tile edge: the M of a tensor-core MMA instruction (mma.sync m16n8k16 on Ampere; Volta's and
Turing's wmma shapes are 16 on a side too)."""


def tile_for(m: float, n: float, tile: tuple[int, int] = TILE) -> tuple[int, int]:
    """The tile a product of M×N output uses: TILE, each edge shrunk to the power of two (at least MIN_TILE) that
    covers a smaller dimension — a product of 16 rows is not run as a 128-row tile padded eightfold: cuBLAS picks the
    tile per shape by heuristics (the guide's "Tile Quantization"), and its kernels for skinny products use narrow
    tiles. Only dimensions below the tile's edge change it."""
    return _edge(m, tile[0]), _edge(n, tile[1])


def _edge(size: float, full: int) -> int:
    """tile_for's edge for one dimension."""
    return full if size >= full else max(MIN_TILE, 1 << max(0, math.ceil(math.log2(max(size, 1.0)))))


def wave_efficiency(m: float, n: float, sms: int, tile: tuple[int, int] = TILE) -> float:
    """Useful share of the work the SMs do for an M×N output: M·N over waves·SMs·tile (module docstring), the tile
    fitted to a dimension smaller than it (tile_for)."""
    if m <= 0 or n <= 0:
        return 1.0
    tm, tn = tile_for(m, n, tile)
    tiles = math.ceil(m / tm) * math.ceil(n / tn)
    waves = math.ceil(tiles / sms)
    return m * n / (waves * sms * tm * tn)


def gemms_efficiency(gemms: Sequence[Gemm], batch: float, sms: int | None) -> float:
    """The shape efficiency of a set of GEMMs: their FLOP over the FLOP-weighted time at each one's wave efficiency,
    Σ f / Σ (f / e) (time adds up, so this is the harmonic mean weighted by FLOP). 1 without an SM count or GEMMs."""
    if sms is None or not gemms:
        return 1.0
    # Gemm.flops(batch) once per GEMM, the same product (a serving search asks ~800 times)
    flops = [2.0 * batch * g.rows * g.n * g.k * g.count for g in gemms]
    total = sum(flops)
    spent = sum([f / wave_efficiency(batch * g.rows, g.n, sms) for f, g in zip(flops, gemms)])
    return total / spent if spent > 0 else 1.0


def forward_shape_efficiency(gemms: Sequence[Gemm], forward_flops: float, batch: float, sms: int | None) -> float:
    """The shape efficiency of a whole forward pass of `forward_flops` per sample: its dense GEMMs at their wave
    efficiency, the rest of the FLOP (attention's batched score products, other terms) at 1."""
    if sms is None or not gemms or forward_flops <= 0:
        return 1.0
    dense = sum([2.0 * 1.0 * g.rows * g.n * g.k * g.count for g in gemms])  # Gemm.flops(1.0) each
    rest = max(0.0, forward_flops - dense)
    return forward_flops / (rest + dense / gemms_efficiency(gemms, batch, sms))


def forward_shape_efficiency_of(gemms: Sequence[Gemm], forward_flops: float,
                                sms: int | None) -> Callable[[float], float]:
    """forward_shape_efficiency(gemms, forward_flops, batch, sms) as a function of the batch, the same floats: what
    does not depend on the batch (the dense FLOP, each GEMM's column tiles) worked out once, and the row tiles once
    per distinct rows per sample — a serving search asks for thousands of batch sizes on a few SM counts
    (bert-train-then-serve: 2,515 a plan)."""
    if sms is None or not gemms or forward_flops <= 0:
        return lambda batch: 1.0
    dense = sum([2.0 * 1.0 * g.rows * g.n * g.k * g.count for g in gemms])  # Gemm.flops(1.0) each
    rest = max(0.0, forward_flops - dense)
    full = TILE[0]
    rows_of = sorted({g.rows for g in gemms})
    # per GEMM: rows, n, k, count, its rows' place in rows_of, and where n > 0 its column tile's edge × SMs and its
    # columns of tiles (tile_for, wave_efficiency); n ≤ 0 is efficiency 1 (columns 0)
    terms = [(g.rows, g.n, g.k, g.count, rows_of.index(g.rows), sms * _edge(g.n, TILE[1]) if g.n > 0 else 0,
              math.ceil(g.n / _edge(g.n, TILE[1])) if g.n > 0 else 0) for g in gemms]
    ceil, log2 = math.ceil, math.log2

    def efficiency(batch: float) -> float:
        # gemms_efficiency's sums, each term as it computes it: the flops in the same order of products, then
        # wave_efficiency written out (m = batch × rows; its integer tile and wave counts are exact in any order)
        tiles = []
        for rows in rows_of:
            m = batch * rows
            if m <= 0:
                tiles.append((m, 0, 0))
                continue
            tm = full if m >= full else max(MIN_TILE, 1 << max(0, ceil(log2(max(m, 1.0)))))
            tiles.append((m, tm, ceil(m / tm)))
        two = 2.0 * batch
        flops = [two * rows * n * k * count for rows, n, k, count, _, _, _ in terms]
        spent = []
        for f, (_, n, _, _, at, width, columns) in zip(flops, terms):
            m, tm, down = tiles[at]
            if not columns or not tm:  # m ≤ 0 or n ≤ 0: wave_efficiency 1.0
                spent.append(f / 1.0)
            else:
                spent.append(f / (m * n / (ceil(down * columns / sms) * width * tm)))
        used = sum(spent)
        shape = sum(flops) / used if used > 0 else 1.0
        return forward_flops / (rest + dense / shape)

    return efficiency
