"""``lock_rows``: robot ``b24goods_lock_rows``."""

from activities.lock_rows import ACTIVITY
from b24goods.http import robot_endpoint

lock_rows = robot_endpoint(ACTIVITY)
