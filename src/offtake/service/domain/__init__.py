"""Domain layer of the operations service: plain functions over a SQLAlchemy session.

Routes (and the OpenADR and dashboard layers) stay thin by calling these.  Every
function takes keyword arguments ``session`` and, when it acts for someone, ``actor``
(a :class:`~offtake.service.security.Principal`); it checks that actor's rights,
raises :mod:`offtake.errors` / :mod:`offtake.service.security` errors on bad input or
missing rights, and writers commit their own transaction (writing an audit entry in it).

Modules
-------
``common``     now(), audit(), site access checks (``site_for_read``, ``site_for_write``)
``clients``    create/list/update clients, ``authenticate`` (client credentials -> token),
               ``ensure_admin``, ``signing_key``
``regions``    ``ensure_regions``, ``list_regions``, ``region_status``
``sites``      ``create_site``, ``list_sites``, ``get_site``, ``update_site``
``signals``    ``post_signals``, ``list_signals``, ``signals_in_force``
``setpoints``  ``current_setpoint``, ``setpoint_history``, ``run_allocation``,
               ``set_manual``, ``emergency_curtail``, ``release_curtailment``
``metering``   ``ingest_readings``, ``list_readings``, ``record_site_event``
``prices``     ``post_prices``, ``list_prices``, ``unit_price`` (flat / surplus-indexed tariffs)
``simclock``   the sandbox's simulated billing clock (``active``, ``set_clock``)
``billing``    ``list_ledger``, ``ledger_balance``, ``issue_invoices``, ``list_invoices``
"""
