"""Site agent: keeps a site's draw at or below the setpoint the operations service sends.

Parts: ``config`` (validated site.yaml), ``drivers`` (pyasic miners, GPU power caps),
``dispatch`` (site MW -> per-machine actions, best J/TH first), ``failsafe`` (link-loss
timer, under-frequency trip), ``outbox`` (SQLite buffer of readings and events),
``link`` (HTTP + WebSocket client of docs/service-contract.md), ``controller`` (the loop)
and ``sim`` (a LuxOS-speaking miner fleet and a GPU-cluster simulator for tests).
"""
