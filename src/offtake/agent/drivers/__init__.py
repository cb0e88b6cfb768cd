"""Site drivers: ``pyasic_miners`` (LuxOS and other pyasic firmwares), ``gpu`` (power caps
and job hooks through configured commands).  All implement :class:`base.Driver`."""
