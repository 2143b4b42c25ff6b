"""``notify``: robot ``b24goods_notify``."""

from activities.notify import ACTIVITY
from b24goods.http import robot_endpoint

notify = robot_endpoint(ACTIVITY)
