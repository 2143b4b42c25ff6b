"""``assign_executors``: robot ``b24goods_assign_executors``."""

from activities.assign_executors import ACTIVITY
from b24goods.http import robot_endpoint

assign_executors = robot_endpoint(ACTIVITY)
