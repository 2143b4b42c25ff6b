"""``recalc_sum``: robot ``b24goods_recalc_sum``."""

from activities.recalc_sum import ACTIVITY
from b24goods.http import robot_endpoint

recalc_sum = robot_endpoint(ACTIVITY)
