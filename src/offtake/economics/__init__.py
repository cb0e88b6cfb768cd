"""Economics of flexible loads: pure, numpy-vectorised functions.

``finance`` (annuity, NPV, IRR, payback), ``bitcoin`` (hashprice, miners, mining
cash flows), ``aidc`` (AI data-centre cash flows, cost of firmness) and ``tariff``
(capacity-charge spreading and the tariff impact on other consumers).
"""
