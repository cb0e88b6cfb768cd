"""The sandbox: the real service and real site agents driven by a scenario's surplus
on a compressed clock, with faults injected and an ex-post compliance report
(docs/sandbox.md)."""
