"""Prototype (not used by the planner): dynamic batching on two replicas as a chain on the exact state (b, ρ) — the
batch just closed and the other replica's residual, ρ on a 48-point grid, no limit reached. The next batch closes
when the earlier of S(b) and ρ frees; the later one's residual less the gap is the next ρ. Measured on
bert-train-then-serve's RTX 3060 curve (limit 64, 10 ms delay, against simulate_dynamic_batching, 200,000 requests,
seed 1): p95 −0.0 % at 50 % of capacity and −1.5 % at 80 % (p99 −1.8 %), where the planner's one-server-twice-as-fast
chain (model/batching_chain.py) is −16.6 %. Pure Python, ~20 s per system: to be vectorised before it can size
plans; more replicas need more state (docs/serving.md, 'Known limits').

Use: pi, comps = model(rate, delay, service_of, largest_batch); quantile(0.95, pi, comps, service_of)."""
import math, numpy as np
from scipy import stats

def model(lam, T, S, bmax, M=48, nq=24):
    Smax = max(S(b) for b in range(1, bmax + 1))
    edges = np.linspace(0, Smax, M + 1); mids = (edges[:-1] + edges[1:]) / 2
    mids[0] = 0.0  # bin 0 holds 'idle' (rho <= 0)
    nS = bmax * M
    P = np.zeros((nS, nS))
    comps = []  # per state: list of (prob, D, bnew)
    gl_x, gl_w = np.polynomial.legendre.leggauss(nq)
    k = np.arange(bmax)
    def idx(b, rho):
        j = 0 if rho <= edges[1] * 0.5 else min(M - 1, int(np.searchsorted(edges, rho) - 1))
        return (b - 1) * M + j
    for b in range(1, bmax + 1):
        sb = S(b)
        for j in range(M):
            rho = mids[j]
            R = min(sb, rho) if rho > 0 else 0.0
            Q = max(sb, rho)
            out = []
            # G >= R - T (D = T, gap = G + T): G from max(0, R - T) to inf; integrate by quadrature on a transformed range
            g0 = max(0.0, R - T)
            p_tail = math.exp(-lam * g0)
            # nodes for G in [g0, g0 + 12/lam]
            span = 12.0 / lam
            gs = g0 + span * (gl_x + 1) / 2
            ws = span / 2 * gl_w * lam * np.exp(-lam * gs)
            ws *= p_tail / ws.sum()
            pk = stats.poisson.pmf(k, lam * T); pk[-1] += 1 - pk.sum()
            for g, w in zip(gs, ws):
                rho2 = max(0.0, Q - g - T)
                for kk in range(bmax):
                    if pk[kk] * w < 1e-13: continue
                    bn = kk + 1
                    P[(b - 1) * M + j, idx(bn, rho2)] += w * pk[kk]
                    out.append((w * pk[kk], T, bn))
            if R > T:
                gs2 = (R - T) * (gl_x + 1) / 2
                ws2 = (R - T) / 2 * gl_w * lam * np.exp(-lam * gs2)
                rho2 = max(0.0, Q - R)
                for g, w in zip(gs2, ws2):
                    d = R - g
                    pk2 = stats.poisson.pmf(k, lam * d); pk2[-1] += 1 - pk2.sum()
                    for kk in range(bmax):
                        if pk2[kk] * w < 1e-13: continue
                        bn = kk + 1
                        P[(b - 1) * M + j, idx(bn, rho2)] += w * pk2[kk]
                        out.append((w * pk2[kk], d, bn))
            tot = P[(b - 1) * M + j].sum()
            if tot > 0: P[(b - 1) * M + j] /= tot
            comps.append((out, tot))
    A = P.T - np.eye(nS); A[-1] = 1; rhs = np.zeros(nS); rhs[-1] = 1
    pi = np.clip(np.linalg.solve(A, rhs), 0, None); pi /= pi.sum()
    return pi, comps

def cdf(x, pi, comps, S):
    num = den = 0.0
    for s, (out, tot) in enumerate(comps):
        if pi[s] < 1e-12: continue
        for p, d, bn in out:
            p = p / tot
            sv = S(bn); z = x - sv
            f = (1.0 if z >= d else 0.0) + (bn - 1) * min(1.0, max(0.0, z / d))
            num += pi[s] * p * f; den += pi[s] * p * bn
    return num / den

def quantile(q, pi, comps, S, hi=2.0):
    lo = 0.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if cdf(mid, pi, comps, S) < q: lo = mid
        else: hi = mid
    return hi
