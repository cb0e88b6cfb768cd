"""The operations dashboard: a static page (HTML + JS, nothing from a CDN) served by
the service, fed by :mod:`offtake.service.dashboard.summary` and the setpoint WebSocket."""
