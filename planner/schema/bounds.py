"""Physical bounds on catalog and record numbers: far beyond any device sold, so a number past them is a typo, a
unit slip or a hostile file, never a real GPU. Each bound cites the largest real figure it leaves room for."""
from __future__ import annotations

import datetime as dt

MAX_GPU_MEMORY_GB = 1_000
"""Per GPU, GB. The largest in catalog/gpus.yaml: 192 GB (MI300X, B200); 1 TB leaves 5×."""
MAX_PEAK_TFLOPS = 20_000
"""Per GPU, dense, any precision, TFLOP/s (20 PFLOP/s). The largest dense peak in catalog/gpus.yaml: 5,000 TFLOP/s
(fp8); 20 PFLOP/s leaves 4×."""
MAX_BANDWIDTH_GBS = 50_000
"""Memory or link bandwidth per GPU, GB/s (50 TB/s). The largest in catalog/gpus.yaml: 8,000 GB/s (B200, MI355X)."""
MAX_USD_PER_GPU_HOUR = 1_000.0
"""Price per GPU-hour, USD. The dearest on-demand offer in catalog/offers/: $12.29 per GPU-hour (Azure ND96isr H100 v5)."""
MAX_NETWORK_GBPS = 100_000
"""Between instances, Gbit/s per instance. The fastest offers in catalog/offers/: 3,200 Gbit/s."""
MAX_TDP_W = 10_000
"""Board power, W. The largest in catalog/gpus.yaml: 1,200 W."""
CLOCK_SKEW = dt.timedelta(minutes=10)
"""A record's measured_at may lie this far ahead of this machine's clock (clocks of two machines differ); more is
a record from the future."""
DATE_SKEW = dt.timedelta(days=1)
"""A catalog date (as_of) may be one day ahead of today: it is written in the author's time zone."""


def future_date(value: dt.date) -> bool:
    """True when a date lies beyond today (UTC) plus DATE_SKEW."""
    return value > dt.datetime.now(dt.timezone.utc).date() + DATE_SKEW
