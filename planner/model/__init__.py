"""Pure math: workload (FLOP, bytes, memory), interconnect, queueing, simulation, costing, spot."""
